"""wallet_runtime/dashboard.py: which files of a build it will hand out, and which never."""

from pathlib import Path

from wallet_runtime.dashboard import Dashboard, find_dashboard


def build(root: Path) -> Path:
    built = root / "frontend" / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html>")
    (built / "favicon.svg").write_text("<svg/>")
    (built / "assets" / "app-1a2b.js").write_text("")
    (root / "secret.txt").write_text("not for the web")
    return built


def test_a_build_is_found_only_when_it_has_an_index(tmp_path: Path) -> None:
    assert find_dashboard(tmp_path) is None
    built = build(tmp_path)
    assert find_dashboard(tmp_path) == built


def test_only_files_beside_the_index_are_served_at_the_top(tmp_path: Path) -> None:
    dashboard = Dashboard(build(tmp_path))
    assert dashboard.top_level_file("/favicon.svg") is not None
    for path in ("/", "/../secret.txt", "/assets/app-1a2b.js", "/.hidden", "/missing.png",
                 "/%2e%2e/secret.txt", "//etc/passwd"):
        assert dashboard.top_level_file(path) is None, path
