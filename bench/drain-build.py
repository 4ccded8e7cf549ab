# A stand-in for a daemon's POST /build that only reads the body and answers at once: what
# `DOCKER_BUILDKIT=0 docker build` costs with no builder behind it (the docker CLI's floor for
# sending a context as a plain tar). Used by bench/build.sh; listens on the unix socket argv[1].
import socketserver, os, sys, time
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line: return
            req = line.decode()
            hdrs = {}
            while True:
                l = self.rfile.readline().decode()
                if l in ('\r\n', '\n', ''): break
                k, v = l.split(':', 1); hdrs[k.strip().lower()] = v.strip()
            n = 0
            if hdrs.get('transfer-encoding') == 'chunked':
                while True:
                    sz = int(self.rfile.readline().strip(), 16)
                    if sz == 0:
                        self.rfile.readline(); break
                    n += len(self.rfile.read(sz)); self.rfile.readline()
            elif 'content-length' in hdrs:
                n = len(self.rfile.read(int(hdrs['content-length'])))
            if '/_ping' in req or 'HEAD' in req:
                body = b'OK'
                self.wfile.write(b'HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n' + body)
            elif '/version' in req:
                body = b'{"ApiVersion":"1.45","Version":"x"}'
                self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
            else:
                body = b'{"aux":{"ID":"sha256:81b9321df0852c7ff4adbe3401fb5079fe256186bdab2c928b092fa6778efe27"}}\n{"stream":"Successfully built 81b9321df085\\n"}\n'
                self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
            self.wfile.flush()
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer): pass
p = sys.argv[1]
if os.path.exists(p): os.unlink(p)
S(p, H).serve_forever()
