"""A Hugging Face hub over HTTP on 127.0.0.1 for tests: huggingface_hub and transformers talk to it as
to the real one (this machine reaches no hub), so a test sees what they fetch, and when."""

from __future__ import annotations

from pathlib import Path


class FakeHub:
    """A Hugging Face hub over HTTP on 127.0.0.1, as huggingface_hub asks one: a repository's files at
    its commits (each a folder) and which commit `main` is; every request it answers is kept."""

    def __init__(self) -> None:
        import hashlib
        import http.server
        import json
        import re
        import threading

        self.commits: dict[tuple[str, str], Path] = {}
        self.main: dict[str, str] = {}
        self.tags: dict[tuple[str, str], str] = {}  # (repo, branch or tag other than main) -> its commit
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self.serve(body=False)

            def do_GET(self) -> None:
                self.serve(body=True)

            def serve(self, body: bool) -> None:
                path = self.path.split("?")[0]
                hub.requests.append(f"{self.command} {path}")
                if re.fullmatch(r"/api/models/[^/]+/[^/]+/tree/.+", path):  # a folder: none here
                    return self.send(404, b"{}", {"X-Error-Code": "EntryNotFound"}, body)
                if found := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path):  # model_info
                    folder, commit = hub.folder(found[1], found[2] or "main")
                    files = [] if folder is None else sorted(p.name for p in folder.iterdir() if p.is_file())
                    data = json.dumps({"id": found[1], "sha": commit, "siblings": [{"rfilename": f} for f in files]})
                    return self.send(200 if folder else 404, data.encode(), {"Content-Type": "application/json"}, body)
                if found := re.fullmatch(r"/(.+?)/resolve/([^/]+)/(.+)", path):  # a file at a revision
                    folder, commit = hub.folder(found[1], found[2])
                    file = None if folder is None else folder / found[3]
                    if file is None or not file.is_file():
                        return self.send(404, b"", {"X-Error-Code": "EntryNotFound"}, body)
                    data = file.read_bytes()
                    return self.send(200, data, {"X-Repo-Commit": commit,
                                                 "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, body)
                self.send(200, b"", {}, body)

            def send(self, code: int, data: bytes, headers: dict[str, str], body: bool) -> None:
                self.send_response(code)
                for key, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(key, value)
                self.end_headers()
                if body:
                    self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def folder(self, repo: str, revision: str) -> tuple[Path | None, str]:
        commit = self.main.get(repo, "") if revision == "main" else self.tags.get((repo, revision), revision)
        return self.commits.get((repo, commit)), commit
