"""`prove serve`: the playground in the browser (issue 15, docs/serve.md).

- `app.py` — the Starlette application: the page, the static files, the JSON API, the headers;
- `work.py` — what each request does, in a worker process (check, derive, grade);
- `guard.py` — the rate limit per client and the bounded answer cache;
- `static/` — the page (HTML, script, style) and the bundled editor (CodeMirror, built from
  `web/`).

Nothing here is trusted: every verdict comes from the kernel through the functions the command
line uses. Starlette and uvicorn come with the optional extra `prove-matrix[serve]`.
"""
