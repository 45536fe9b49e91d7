"""The built dashboard (`frontend/dist`), served at `/` by the runtime that serves the API.

Same origin as the API, so the page needs no CORS and its websocket needs no
other host. Hashed assets are cached for good; `index.html` never is, so a
rebuilt dashboard is picked up on the next load. The token travels in the
URL's fragment, which browsers never send, and the policy below keeps the
page from loading or sending anything anywhere but here.
"""

from pathlib import Path

from aiohttp import web

INDEX = "index.html"
ASSETS = "assets"
INDEX_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
ASSET_CACHE = "public, max-age=31536000, immutable"  # file names carry a content hash


def find_dashboard(project_root: Path) -> Path | None:
    """`frontend/dist` when it holds a build, else None (the runtime shows a hint instead)."""
    built = project_root / "frontend" / "dist"
    return built if (built / INDEX).is_file() else None


class Dashboard:
    def __init__(self, built: Path) -> None:
        self._built = built.resolve()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_get(f"/{ASSETS}/{{name}}", self._asset)  # one segment: no `..`, no `/`
        app.on_response_prepare.append(_cache_assets)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self._built / INDEX, headers=INDEX_HEADERS)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        """A built asset; a missing one is raised so the edge answers it in the envelope."""
        found = _file_in(self._built / ASSETS, request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.FileResponse(found)

    def top_level_file(self, path: str) -> Path | None:
        """A file such as /favicon.svg beside index.html; never anything outside the build."""
        return _file_in(self._built, path.lstrip("/"))


def _file_in(folder: Path, name: str) -> Path | None:
    if not name or "/" in name or name.startswith("."):
        return None
    candidate = (folder / name).resolve()
    inside = candidate.parent == folder.resolve()
    return candidate if inside and candidate.is_file() else None


async def _cache_assets(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith(f"/{ASSETS}/") and response.status == 200:
        response.headers["Cache-Control"] = ASSET_CACHE
