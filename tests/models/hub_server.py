"""A real HTTP server on 127.0.0.1 that answers like the Hugging Face Hub's file endpoints.

It serves ``/{owner}/{repo}/resolve/{revision}/{filename}`` (HEAD with the
commit, ETag and size headers huggingface_hub reads; GET with Range
support) and plain ``/files/{filename}`` URLs for release files. Faults are
switched per file: ``drop_once`` closes the connection half-way through the
first GET; ``drop_always`` does that too and then sends no body at all on
later GETs, so the client runs out of retries with half the file on disk.
"""

from __future__ import annotations

import hashlib
from http.server import BaseHTTPRequestHandler

from loopback import LoopbackServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer(LoopbackServer):
    def __init__(self):
        self.files: dict[str, bytes] = {}  # "owner/repo/filename" or "files/filename" -> bytes
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _key(self) -> str | None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) == 5 and parts[2] == "resolve":
                    return f"{parts[0]}/{parts[1]}/{parts[4]}"
                if len(parts) == 2 and parts[0] == "files":
                    return self.path.strip("/")
                return None

            def _headers(self, status: int, data: bytes, length: int, extra: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def _missing(self) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Error-Message", "Entry not found")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self):
                server.requests.append(("HEAD", self.path, None))
                key = self._key()
                if key not in server.files:
                    return self._missing()
                data = server.files[key]
                self._headers(200, data, len(data))

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append(("GET", self.path, rng))
                key = self._key()
                if key not in server.files:
                    return self._missing()
                data = server.files[key]
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                body = data[start:]
                if rng:
                    self._headers(206, data, len(body), {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
                else:
                    self._headers(200, data, len(body))
                fault = server.faults.get(key)
                if fault in ("drop_once", "drop_always") and len(body) > 1:
                    self.wfile.write(body[: len(body) // 2] if start == 0 else b"")
                    self.wfile.flush()
                    if fault == "drop_once":
                        server.faults.pop(key)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        super().__init__(Handler)
        self.url = self.base_url
