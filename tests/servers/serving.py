"""A socketserver (http.server's or werkzeug's) serving from a background thread, stopped without waiting."""

import threading


class Serving:
    """httpd.serve_forever in a daemon thread, so each test server starts and stops its HTTP server alike."""

    def __init__(self, httpd, stopping: threading.Event, name: str | None = None):
        self.httpd = httpd
        self._stopping = stopping
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Set stopping (slow answers wait on it), end serve_forever, join its thread, close the socket."""
        self._stopping.set()
        self.httpd.shutdown()
        self._thread.join()
        self.httpd.server_close()
