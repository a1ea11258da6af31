"""Defaults for every setting; instance/config.py and DDE_* environment variables (or a test's dict) override them."""

from datetime import timedelta

SQLALCHEMY_DATABASE_URI = None  # None: SQLite file in the instance folder
SECRET_KEY = None  # None: generated once into the instance folder
ENCRYPTION_KEYS = None  # None: generated once into the instance folder; a list rotates (first encrypts)
PUBLIC_URL = None  # e.g. "https://mail-console.example.com/ddenterpriseapi"
TRUSTED_PROXIES = 0  # number of reverse proxies whose X-Forwarded-* headers are trusted
OAUTH_PROVIDER_OVERRIDES = {}
OAUTH_STATE_LIFETIME = timedelta(minutes=10)
HTTP_TIMEOUT = 10  # seconds for the whole of each call to a provider (connecting, sending, reading)
SMTP_TIMEOUT = 20  # seconds for every SMTP operation; a test email's whole conversation ends within it
SMTP_CA_BUNDLE = None  # PEM file of extra certificate authorities for SMTP servers
DATABASE_LOCK_TIMEOUT = 10  # seconds a writer waits for another one before the page says the database is busy
BLOCK_PRIVATE_NETWORKS = False  # True: refuse SMTP hosts and provider URLs in private networks (loopback allowed)
ACCESS_TOKEN_MARGIN = 300  # refresh this many seconds before the access token expires
MAX_ATTACHMENTS = 100  # per message sent through the API
OUTBOX_RETRY_FIRST = 60  # seconds before the first retry of a temporary failure; doubles at each attempt ...
OUTBOX_RETRY_MAX = 3600  # ... up to this
OUTBOX_MAX_AGE = 2 * 24 * 3600  # seconds: a message still failing temporarily after this long fails for good
OUTBOX_KEEP_SENT = 0  # seconds the body of a sent message is kept (the record stays, without the body)
OUTBOX_RETENTION_DAYS = 30  # then the records of sent, failed and cancelled messages go too
OUTBOX_BATCH_SIZE = 50  # messages a worker claims at once, under one lease
OUTBOX_CONNECTION_MAX_MESSAGES = 500  # messages one SMTP connection carries at most (batch after batch) ...
OUTBOX_CONNECTION_MAX_AGE = 300  # ... and seconds it is used at most
WORKER_POLL_INTERVAL = 0.25  # seconds between looks at the outbox when it is empty (one read of an index)
OUTBOX_LEASE = 120  # seconds a worker's claim lasts without news: then its messages go to another worker
REFRESH_INTERVAL = 24 * 3600  # seconds: the worker refreshes the token at least this often, mail or not
METRICS_TOKEN = None  # None: /metrics answers this machine only; else also `Authorization: Bearer <token>`
WORKER_STALE_AFTER = 300  # seconds without a delivery worker's heartbeat before /healthz says "degraded"
QUEUE_STALE_AFTER = 900  # seconds a queued or deferred message may wait before /healthz says "degraded"
RELAY_BIND = "127.0.0.1:2525"  # the SMTP relay (flask ... relay): host:port where programs hand it their mail
RELAY_TLS_BIND = None  # e.g. "0.0.0.0:465": a second listener speaking TLS from the first byte (needs the certificate)
RELAY_TLS_CERT = None  # PEM certificate (with its chain) ...
RELAY_TLS_KEY = None  # ... and its private key: with both, the relay offers STARTTLS
RELAY_ALLOW_PLAINTEXT = False  # True: listen beyond loopback without a certificate (for trusted networks only)
RELAY_TRUSTED_NETWORKS = []  # CIDRs whose clients may send without AUTH, e.g. ["10.1.2.0/24"] (or comma-separated)
RELAY_MAX_SIZE = 25 * 1024 * 1024  # bytes a message may have (SIZE); a larger one is refused with 552
RELAY_MAX_CONNECTIONS = 100  # connections open at once; the next one is turned away with 421
RELAY_IDLE_TIMEOUT = 300  # seconds a connection may wait between commands (DATA included) before it is closed
RELAY_SESSION_TIMEOUT = 3600  # seconds a connection may stay open in all
RELAY_HOSTNAME = None  # the name in the relay's greeting; None: this machine's host name

SESSION_COOKIE_NAME = "ddenterpriseapi_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_PATH = "/"
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)  # a login ends this long after it began, however busy
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)  # ... or this long after its last request
REMEMBER_COOKIE_DURATION = timedelta(days=0)
MAX_CONTENT_LENGTH = 30 * 1024 * 1024
WTF_CSRF_TIME_LIMIT = None  # tied to the session lifetime instead
RATELIMIT_STORAGE_URI = "memory://"  # per process; e.g. "redis://host:6379" to share limits between instances
RATELIMIT_ENABLED = True  # stated, so every app built in one process sets it (the limiter is shared)
RATELIMIT_HEADERS_ENABLED = True
BABEL_TRANSLATION_DIRECTORIES = "translations"  # relative to the ddenterpriseapi package: the .mo files ship with it
