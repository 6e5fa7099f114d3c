"""Minimal keep-alive HTTP server answering every GET with the same ~1 KiB response (bench only)."""
import socket, threading
BODY = b"%PDF-1.4 " + b"x" * 1000
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\n"
        b"ETag: \"abc\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n" % len(BODY)) + BODY
def serve(conn):
    buf = b""
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data: return
                buf += data
            _, buf = buf.split(b"\r\n\r\n", 1)
            conn.sendall(RESP)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(128)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
