"""An OpenAI-compatible chat server on 127.0.0.1 whose replies and faults the test scripts.

Replies are deterministic: `<text> (reworded, take <seed>)`. `faults[text]` lists actions
consumed one per request for that text: "429" (Retry-After 0.05 s), "500", "503", "hang"
(past the client's time-out), "drop" (close without answering), "nochoices", "empty", "echo",
"401", "block" (wait until `release` is set; also the `block_at`-th request overall).
Every request is logged as (text, seed, action).
"""

import json
import re
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    def __init__(self, faults=None, hang_s: float = 2.0, block_at: int | None = None):
        self.faults = defaultdict(list, {k: list(v) for k, v in (faults or {}).items()})
        self.hang_s, self.log, self.lock = hang_s, [], threading.Lock()
        self.release, self.block_at = threading.Event(), block_at
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = re.search(r"<post>(.*)</post>", body["messages"][-1]["content"], re.S)[1]
                with server.lock:
                    action = server.faults[text].pop(0) if server.faults[text] else "ok"
                    if len(server.log) + 1 == server.block_at:
                        action = "block"
                    server.log.append((text, body.get("seed"), action))
                server.act(self, action, text, body.get("seed"))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def act(self, handler, action, text, seed):
        if action == "drop":
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "hang":
            time.sleep(self.hang_s)
        if action == "block":
            self.release.wait(30)
        status, headers, payload = 200, {}, None
        if action in ("429", "500", "503", "401"):
            status = int(action)
            headers = {"Retry-After": "0.05"} if action == "429" else {}
            message = "Incorrect API key provided: sk-test-****cret" if action == "401" else "busy"
            payload = {"error": {"message": message, "type": "error", "code": action}}
        else:
            content = {"empty": "", "echo": text}.get(action, f"{text} (reworded, take {seed})")
            choices = (
                []
                if action == "nochoices"
                else [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ]
            )
            payload = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "fake",
                "choices": choices,
            }
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            for key, value in {
                **headers,
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
            }.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client gave up (time-out) or was killed
            pass

    def successes(self):
        """(text, seed) of every request answered with a reply."""
        return [(t, s) for t, s, a in self.log if a in ("ok", "empty", "echo", "nochoices")]

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
