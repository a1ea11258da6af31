"""The console served over real HTTP on 127.0.0.1 by a threaded WSGI server."""

import threading

from werkzeug.serving import make_server


class LiveConsole:
    """The console on a real port, for browsers and concurrent clients."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ddenterpriseapi"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
