"""GET /: the dashboard page and its files, all from this server, to anyone, without a build."""

import re

from tests.e2e.rest import Client, problem

TYPES = {".css": "text/css", ".js": "text/javascript"}
IMPORT = re.compile(r'^import .* from "\./([\w-]+\.js)";$', re.MULTILINE)


async def test_the_page_and_every_file_it_loads_come_from_this_server(client: Client) -> None:
    response = await client.get("/")
    page = await response.text()

    assert response.status == 200 and response.content_type == "text/html"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    files = [link for link in links if link.startswith("/static/")]
    assert set(links) - set(files) == {"data:,", "/api/docs"}, "nothing from elsewhere"
    modules = ["dashboard.js"]
    for name in modules:  # the entry module, then every module it imports, and theirs
        source = await (await client.get(f"/static/{name}")).text()
        modules += [found for found in IMPORT.findall(source) if found not in modules]
    assert len(modules) > 3
    for path in files + [f"/static/{name}" for name in modules]:
        asset = await client.get(path)
        assert asset.status == 200, path
        assert asset.content_type == TYPES[path[path.rindex(".") :]], path
        assert asset.headers["Cache-Control"] == "no-cache", path


async def test_files_beside_those_the_page_loads_are_not_served(client: Client) -> None:
    for name in ("api-docs.html", "dashboard.html", "..%2Fdashboard.py", "missing.js"):
        await problem(await client.get(f"/static/{name}"), 404)
