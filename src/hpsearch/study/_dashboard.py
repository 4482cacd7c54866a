"""optuna-dashboard on the study database, bound before anything is printed so the address shown
is one that answers (a port in use or a host that is not this machine's is one line, exit 2)."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from hpsearch.errors import Problem, UserError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    import optuna

DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8080


class Dashboard:
    """optuna-dashboard's WSGI app on a threaded wsgiref server, bound and not yet serving."""

    def __init__(self, server: "WSGIServer", host: str) -> None:
        self._server = server
        self.host = host
        self.port: int = server.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/dashboard"

    def serve(self) -> None:
        """Answer requests until interrupted (Ctrl-C raises KeyboardInterrupt out of here)."""
        with self._server:
            self._server.serve_forever()


def open_dashboard(storage: "optuna.storages.BaseStorage", host: str = DASHBOARD_HOST,
                   port: int = DASHBOARD_PORT) -> Dashboard:
    """Bind optuna-dashboard for `storage` to `host`:`port` (0: any free port); UserError naming
    --host or --port if that address cannot be had."""
    if not 0 <= port <= 65535:
        raise UserError(Problem("--port", "", f"must be between 0 and 65535, got {port}"))
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import optuna_dashboard

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass  # one line per request on stderr would bury the address printed at start

    app = optuna_dashboard.wsgi(storage)
    try:
        server = make_server(host, port, app, server_class=Server, handler_class=QuietHandler)
    except socket.gaierror as exc:
        raise UserError(Problem("--host", "", f"cannot resolve {host!r}: {exc.strerror}")) from None
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UserError(Problem("--host", "", f"{host!r} is not an address of this machine")) from None
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or type(exc).__name__
        raise UserError(Problem("--port", "", f"cannot listen on {host}:{port}: {reason}")) from None
    return Dashboard(server, host)
