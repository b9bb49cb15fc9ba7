"""The test Hub (tests/hub_server.py) answers as the Hub does: the headers and error codes huggingface_hub reads,
Range requests, tree listings and paths-info. The workflow tests (tests/test_hub.py) run the pipeline against it."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hub_server import HubServer, git_blob_id

COMMIT, OTHER = "1" * 40, "2" * 40


@pytest.fixture(scope="module")
def hub():
    server = HubServer().start()
    files = {"README.md": "card", "data/train.parquet": b"0123456789", "data/sub/x.txt": "x"}
    server.add_commit("dataset", "org/data", COMMIT, files, branch="refs/convert/parquet")
    server.add_commit("dataset", "org/data", OTHER, {"README.md": "newer"}, branch="main")
    server.add_commit("model", "legacy-id", COMMIT, {"config.json": "{}"}, branch="main")
    server.add_commit("model", "org/gated", COMMIT, {"config.json": "{}"}, branch="main", gated=True)
    server.add_raw("owner/repo/" + COMMIT + "/data/file.json", "{}")
    yield server
    server.stop()


def request(hub, path, method="GET", headers=None, data=None):
    """(status, headers, body) of a request to the test Hub; HTTP errors are answers too."""
    req = urllib.request.Request(hub.url + path, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_resolve_headers_are_the_ones_huggingface_hub_reads(hub):
    status, headers, body = request(hub, f"/datasets/org/data/resolve/{COMMIT}/README.md", method="HEAD")
    assert status == 200 and body == b""
    assert headers["X-Repo-Commit"] == COMMIT and headers["Content-Length"] == "4"
    assert headers["ETag"] == f'"{git_blob_id(b"card")}"'
    status, headers, body = request(hub, f"/datasets/org/data/resolve/{COMMIT}/data/train.parquet")
    assert status == 200 and body == b"0123456789" and len(headers["ETag"]) == 66  # sha256 of an LFS file


def test_branches_and_commits_resolve_and_an_encoded_branch_name_works(hub):
    branch = urllib.parse.quote("refs/convert/parquet", safe="")
    status, headers, _ = request(hub, f"/datasets/org/data/resolve/{branch}/README.md")
    assert status == 200 and headers["X-Repo-Commit"] == COMMIT
    status, headers, body = request(hub, "/datasets/org/data/resolve/main/README.md")
    assert status == 200 and headers["X-Repo-Commit"] == OTHER and body == b"newer"
    status, _, body = request(hub, "/api/datasets/org/data/revision/main")
    assert json.loads(body)["sha"] == OTHER


@pytest.mark.parametrize(
    "path, status, code",
    [
        ("/datasets/org/nothing/resolve/main/README.md", 401, "RepoNotFound"),
        ("/datasets/org/data/resolve/" + "3" * 40 + "/README.md", 404, "RevisionNotFound"),
        ("/datasets/org/data/resolve/main/data/train.parquet", 404, "EntryNotFound"),  # not in the main commit
        ("/api/models/org/nothing/revision/main", 401, "RepoNotFound"),
        ("/org/gated/resolve/main/config.json", 401, "GatedRepo"),
    ],
)
def test_errors_carry_the_hubs_error_codes(hub, path, status, code):
    got, headers, _ = request(hub, path)
    assert (got, headers["X-Error-Code"]) == (status, code)


def test_a_gated_repo_answers_with_the_token_and_a_legacy_id_without_owner_resolves(hub):
    status, _, _ = request(hub, "/org/gated/resolve/main/config.json", headers={"Authorization": f"Bearer {hub.token}"})
    assert status == 200
    status, headers, _ = request(hub, "/legacy-id/resolve/main/config.json")
    assert status == 200 and headers["X-Repo-Commit"] == COMMIT


def test_range_requests_return_the_asked_bytes(hub):
    path = f"/datasets/org/data/resolve/{COMMIT}/data/train.parquet"
    status, headers, body = request(hub, path, headers={"Range": "bytes=2-5"})
    assert status == 206 and body == b"2345" and headers["Content-Range"] == "bytes 2-5/10"
    status, _, body = request(hub, path, headers={"Range": "bytes=-3"})
    assert status == 206 and body == b"789"


def test_tree_lists_one_level_or_everything_and_paths_info_answers_for_files_and_folders(hub):
    _, _, body = request(hub, f"/api/datasets/org/data/tree/{COMMIT}/data")
    assert [(e["type"], e["path"]) for e in json.loads(body)] == [
        ("directory", "data/sub"),
        ("file", "data/train.parquet"),
    ]
    _, _, body = request(hub, f"/api/datasets/org/data/tree/{COMMIT}?recursive=true")
    assert {e["path"] for e in json.loads(body) if e["type"] == "file"} == {
        "README.md",
        "data/train.parquet",
        "data/sub/x.txt",
    }
    status, headers, _ = request(hub, f"/api/datasets/org/data/tree/{COMMIT}/missing")
    assert (status, headers["X-Error-Code"]) == (404, "EntryNotFound")
    form = urllib.parse.urlencode({"paths": ["data", "README.md", "missing"]}, doseq=True).encode()
    _, _, body = request(hub, f"/api/datasets/org/data/paths-info/{COMMIT}", method="POST", data=form)
    info = {e["path"]: e for e in json.loads(body)}
    assert set(info) == {"data", "README.md"} and info["README.md"]["size"] == 4 and "lfs" not in info["README.md"]


def test_raw_files_are_served_by_path_and_unknown_apis_are_recorded(hub):
    assert request(hub, f"/raw/owner/repo/{COMMIT}/data/file.json")[0] == 200
    assert request(hub, f"/raw/owner/repo/{OTHER}/data/file.json")[0] == 404
    assert request(hub, "/api/datasets/org/data/discussions")[0] == 501
    assert hub.unanswered()[-1][1] == "/api/datasets/org/data/discussions"
