"""Gunicorn settings: gunicorn -c gunicorn.conf.py wsgi:app. Bind and workers come from the environment."""

import os

# Processes for the processor (accepting a message is Python work: one core per process at most), two threads in
# each for waiting (a status asked with ?wait, a test email waiting for the SMTP server).
DEFAULT_WORKERS = max(2, min(2 * (os.cpu_count() or 1), 8))

bind = os.environ.get("DDE_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", DEFAULT_WORKERS))
threads = int(os.environ.get("DDE_THREADS", "2"))
timeout = 60  # a test send waits for the SMTP server (20 s) and the token endpoint (10 s)
graceful_timeout = 30
preload_app = True  # one setup-code announcement, one start-up check
accesslog = "-"
logger_class = "ddenterpriseapi.logs.GunicornLogger"  # escapes control characters: a request cannot forge a line
# The path without its query string, and no Referer: OAuth codes and states never reach the log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
# Forwarded headers are trusted in one place only: the console's ProxyFix (DDE_TRUSTED_PROXIES).
forwarded_allow_ips = ""
