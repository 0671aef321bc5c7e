"""A minimal Hugging Face Hub on 127.0.0.1: just the calls `create_repo` and `upload_folder`
make (repo creation, model-card header validation, pre-upload, one commit of inline files),
with bearer-token checks."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


class FakeHub:
    def __init__(self, token: str):
        self.token, self.repos, self.requests, self.card_headers = token, {}, [], []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hub.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self.reply(401, {"error": "Invalid credentials"})
                if self.path == "/api/repos/create":
                    request = json.loads(body)
                    repo = f"{request.get('organization') or 'user'}/{request['name']}"
                    hub.repos.setdefault(repo, {})
                    return self.reply(200, {"url": f"{hub.url}/{repo}", "name": repo})
                if self.path == "/api/validate-yaml":  # the Hub checks a model card's header
                    content = json.loads(body)["content"]
                    header = yaml.safe_load(content.split("---\n")[1])
                    hub.card_headers.append(header)
                    ok = isinstance(header, dict) and "license" in header
                    return self.reply(200 if ok else 400, {} if ok else {"error": "bad header"})
                parts = self.path.split("?")[0].split("/")  # /api/models/<ns>/<name>/<verb>/<rev>
                if len(parts) < 7:
                    return self.reply(404, {"error": f"not faked: {self.path}"})
                repo, verb = f"{parts[3]}/{parts[4]}", parts[5]
                if verb == "preupload":
                    files = json.loads(body)["files"]
                    return self.reply(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        },
                    )
                if verb == "commit":
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            value = item["value"]
                            hub.repos[repo][value["path"]] = base64.b64decode(value["content"])
                    commit = {"commitUrl": f"{hub.url}/{repo}/commit/0001", "commitOid": "0" * 40}
                    return self.reply(200, {**commit, "pullRequestUrl": None})
                return self.reply(404, {"error": f"not faked: {self.path}"})

            def reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
