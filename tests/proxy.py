"""A TCP proxy on loopback that can stop answering: a database that hangs mid-call, for tests and bench."""

from __future__ import annotations

import selectors
import socket
import threading


class PausingProxy:
    """Forward 127.0.0.1:<port> to a target; `pause()` stops moving bytes (connections stay open)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self.closed = threading.Event()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def pause(self) -> None:
        """Stop answering: the database seems to hang (nothing is refused, nothing comes back)."""
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def close(self) -> None:
        """Stop the proxy's thread first, then close every socket it had."""
        self.closed.set()
        self.running.set()
        self.thread.join(timeout=5)
        self.listener.close()
        for client, server in self.pairs:
            client.close()
            server.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}
        while not self.closed.is_set():
            if not self.running.is_set():
                self.running.wait(timeout=0.05)
                continue
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    try:
                        client, _ = self.listener.accept()
                    except OSError:
                        return
                    server = socket.create_connection(self.target)
                    self.pairs.append((client, server))
                    peers[client], peers[server] = server, client
                    selector.register(client, selectors.EVENT_READ)
                    selector.register(server, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    other = peers.pop(sock)
                    peers.pop(other, None)
                    for end in (sock, other):
                        try:
                            selector.unregister(end)
                        except (KeyError, ValueError):
                            pass
                        end.close()
                    continue
                peers[sock].sendall(data)
        selector.close()
