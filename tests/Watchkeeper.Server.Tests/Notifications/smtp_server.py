# A real SMTP server for the email notification tests: Debian's aiosmtpd on loopback.
# Usage: python3 smtp_server.py PORT OUTDIR [CERT KEY USER PASSWORD]
# With a certificate it requires STARTTLS and AUTH (LOGIN/PLAIN) with USER/PASSWORD.
# Each message is written to OUTDIR as N.eml with N.json (envelope, TLS, auth). Stops when stdin closes.
import json, os, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, out = int(sys.argv[1]), sys.argv[2]
count = 0

class Handler:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        with open(os.path.join(out, f"{count}.eml"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None, "authenticated": bool(session.authenticated)}
        with open(os.path.join(out, f"{count}.json"), "w") as f:
            json.dump(meta, f)
        return "250 Message accepted"

kwargs = {}
if len(sys.argv) > 3:
    cert, key, user, password = sys.argv[3:7]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    def auth(server, session, envelope, mechanism, data):
        ok = data.login.decode() == user and data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    kwargs = dict(tls_context=ctx, require_starttls=True, authenticator=auth, auth_require_tls=True, auth_required=True)

c = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
c.start()
print("READY", flush=True)
sys.stdin.read()
c.stop()
