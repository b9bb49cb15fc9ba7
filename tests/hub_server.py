"""A HuggingFace-Hub-shaped HTTP server on 127.0.0.1 for the tests: the Hub path runs against it offline.

It answers the requests huggingface_hub, transformers and datasets make (docs/slurm.md "Air-gapped clusters and Hub
mirrors", tests/test_hub.py): repo info by revision, tree listing, paths-info, and `resolve` with HEAD / GET /
Range, with the Hub's headers (X-Repo-Commit, ETag, Content-Length) and its error codes (X-Error-Code
RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). Repositories live in memory at exact ids and
commits; branches (main, refs/convert/parquet) point at commits. Plain files (GitHub's raw URLs) are served
under /raw/. Every request is recorded, so a test can assert what was (not) fetched.

Own server rather than olah 0.5.4 (a self-hosted mirror; measured here: `pip install olah==0.5.4` into its own
venv 13 s, 50 packages; ready 0.9 s after start; for a repo not in its cache and no upstream it answers 504
ProxyTimeout): olah serves git repos from its mirrors path, whose commit ids git computes, so it cannot serve a
stand-in at the commit the config pins, which is what the pins are tested against; it ignores Range, which
streaming parquet relies on (the wikipedia test checks that later shards are never fetched); and its own venv
and process add a moving part to CI. This server is ~250 lines, builds no venv, starts in-process in
milliseconds and records every request for the assertions.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

KINDS = {"models": "model", "datasets": "dataset"}


def git_blob_id(content: bytes) -> str:
    """The git object id of a file, which the Hub reports as a file's `oid` (and its ETag for non-LFS files)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def is_lfs(path: str) -> bool:
    return path.endswith((".parquet", ".bin", ".safetensors", ".h5", ".msgpack", ".arrow"))


@dataclass
class Repo:
    kind: str  # model | dataset
    repo_id: str
    commits: dict = field(default_factory=dict)  # commit id -> {path: bytes}
    refs: dict = field(default_factory=dict)  # branch name -> commit id
    gated: bool = False

    def resolve(self, revision: str) -> str | None:
        """The commit a revision names: a branch or a full commit id (the Hub takes both)."""
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class HubServer:
    """Repositories and raw files served on 127.0.0.1 (`url`); `requests` records (method, path, status)."""

    def __init__(self, token: str = "hf_fixture_token"):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.raw: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.token = token
        self._httpd = None

    def add_commit(self, kind: str, repo_id: str, commit: str, files: dict, branch: str | None = None, gated=False):
        """Serve `files` ({path: bytes or str}) as commit `commit` of repo `repo_id`; `branch` points at it."""
        if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
            raise ValueError(f"{repo_id}: commit ids are 40 hex digits, got {commit!r}")
        repo = self.repos.setdefault((kind, repo_id), Repo(kind, repo_id))
        repo.gated = repo.gated or gated
        repo.commits[commit] = {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
        if branch:
            repo.refs[branch] = commit

    def add_raw(self, url_path: str, content: bytes | str):
        self.raw[url_path.strip("/")] = content.encode() if isinstance(content, str) else content

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        server = self

        class Handler(_Handler):
            hub = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def fetched(self, fragment: str) -> list[str]:
        """Paths of the successful GET requests whose path contains `fragment`."""
        return [p for m, p, s in self.requests if m == "GET" and s in (200, 206) and fragment in p]

    def unanswered(self) -> list[tuple[str, str, int]]:
        """Requests the server does not implement (status 501): an API the fixture would need to add."""
        return [r for r in self.requests if r[2] == 501]


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the request list is the log
        pass

    # --- responses -------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.hub.requests.append((self.command, self.path, status))
        self.send_response(status)
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, headers=None):
        self._send(200, json.dumps(payload).encode(), headers)

    def _error(self, status: int, code: str | None, message: str):
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers)

    # --- routing -----------------------------------------------------------------------------------------
    def do_GET(self):
        self._route()

    def do_HEAD(self):
        self._route()

    def do_POST(self):
        self._route()

    def _route(self):
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = parse_qs(parts.query)
        if segments[0] == "raw":
            content = self.hub.raw.get("/".join(segments[1:]))
            if content is None:
                return self._send(404, b"404: Not Found", content_type="text/plain")
            return self._send(200, content, content_type="text/plain")
        if segments[0] == "api" and len(segments) > 2 and segments[1] in KINDS:
            return self._api(KINDS[segments[1]], segments[2:], query)
        if segments[0] == "datasets":
            return self._resolve("dataset", segments[1:])
        if segments[0] not in ("api", "raw", "spaces"):
            return self._resolve("model", segments)
        self._error(501, None, f"the test Hub does not implement {self.command} {parts.path}")

    def _repo(self, kind: str, segments: list[str]) -> tuple[Repo | None, list[str], str]:
        """The repo named by the leading segments (`owner/name` or a legacy id without owner) and the rest."""
        for n in (2, 1):
            repo = self.hub.repos.get((kind, "/".join(segments[:n])))
            if repo is not None:
                return repo, segments[n:], repo.repo_id
        return None, segments[2:], "/".join(segments[:2])

    def _authorised(self, repo: Repo) -> bool:
        return not repo.gated or self.headers.get("Authorization") == f"Bearer {self.hub.token}"

    def _lookup(self, kind: str, segments: list[str]):
        """(repo, commit, rest) or None after answering with the Hub's error for an unknown repo / revision."""
        repo, rest, repo_id = self._repo(kind, segments)
        if repo is None:
            self._error(401, "RepoNotFound", f"Repository not found: {kind} {repo_id}")
            return None
        return repo, rest

    # --- the Hub API -------------------------------------------------------------------------------------
    def _api(self, kind: str, segments: list[str], query: dict):
        found = self._lookup(kind, segments)
        if found is None:
            return
        repo, rest = found
        action = rest[0] if rest else "revision"
        revision = rest[1] if len(rest) > 1 else "main"
        if action not in ("revision", "tree", "paths-info"):
            return self._error(501, None, f"the test Hub does not implement /api/.../{action}")
        if not self._authorised(repo) and action != "revision":
            return self._error(401, "GatedRepo", f"Access to {kind} {repo.repo_id} is restricted")
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        files = repo.commits[commit]
        if action == "revision":
            info = {
                "id": repo.repo_id,
                "sha": commit,
                "private": False,
                "gated": "manual" if repo.gated else False,
                "disabled": False,
                "lastModified": "2024-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(files)],
            }
            return self._json(info)
        if action == "tree":
            path = "/".join(rest[2:]).strip("/")
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            entries = self._tree(files, path, recursive)
            if entries is None:
                return self._error(404, "EntryNotFound", f"{path} does not exist on {revision}")
            return self._json(entries)
        # paths-info: form-encoded (huggingface_hub) or JSON body
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body).get("paths", [])
        infos = []
        for path in paths:
            path = path.strip("/")
            if path in files:
                infos.append(self._file_entry(path, files[path]))
            elif any(p.startswith(path + "/") for p in files):
                infos.append(self._dir_entry(path))
        self._json(infos)

    @staticmethod
    def _file_entry(path: str, content: bytes) -> dict:
        entry = {"type": "file", "oid": git_blob_id(content), "size": len(content), "path": path}
        if is_lfs(path):
            entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": 134}
        return entry

    @staticmethod
    def _dir_entry(path: str) -> dict:
        return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}

    def _tree(self, files: dict, path: str, recursive: bool) -> list | None:
        prefix = path + "/" if path else ""
        below = {p: c for p, c in files.items() if p.startswith(prefix)}
        if not below:
            return None
        entries, dirs = [], set()
        for p, content in sorted(below.items()):
            parts = p[len(prefix) :].split("/")
            for depth in range(1, len(parts)):
                if recursive or depth == 1:
                    dirs.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                entries.append(self._file_entry(p, content))
        return [self._dir_entry(d) for d in sorted(dirs)] + entries

    # --- file downloads ----------------------------------------------------------------------------------
    def _resolve(self, kind: str, segments: list[str]):
        found = self._lookup(kind, segments)
        if found is None:
            return
        repo, rest = found
        if len(rest) < 3 or rest[0] != "resolve":
            return self._error(501, None, f"the test Hub does not implement {self.path}")
        if not self._authorised(repo):
            return self._error(401, "GatedRepo", f"Access to {kind} {repo.repo_id} is restricted: log in")
        revision, path = rest[1], "/".join(rest[2:])
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        content = repo.commits[commit].get(path)
        if content is None:
            return self._error(404, "EntryNotFound", f"Entry not found: {path}")
        etag = hashlib.sha256(content).hexdigest() if is_lfs(path) else git_blob_id(content)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and self.command == "GET":
            start, _, end = ranged[len("bytes=") :].partition("-")
            if not start:  # suffix range: the last N bytes
                first, last = max(len(content) - int(end), 0), len(content) - 1
            else:
                first, last = int(start), min(int(end) if end else len(content) - 1, len(content) - 1)
            headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
            return self._send(206, content[first : last + 1], headers, "application/octet-stream")
        self._send(200, content, headers, "application/octet-stream")
