# Debian's python3-dkim (dkimpy) as an independent DKIM implementation for the tests: verify or sign stdin.
# verify NAME TXT: reads a message on stdin, answers the TXT query for NAME with TXT, prints pass|fail.
# sign DOMAIN SELECTOR KEYFILE [ed25519]: reads a message on stdin, prints the DKIM-Signature it makes.
# arcverify RECORDS_JSON: reads a message on stdin, validates its ARC chain (RFC 8617), prints the cv result.
import json
import sys
import dkim

mode = sys.argv[1]
message = sys.stdin.buffer.read()
if mode == 'verify':
    name, txt = sys.argv[2], sys.argv[3]

    def dnsfunc(qname, timeout=5):
        q = qname.decode() if isinstance(qname, bytes) else qname
        return txt.encode() if q.rstrip('.') == name else b''

    ok = dkim.verify(message, dnsfunc=dnsfunc)
    print('pass' if ok else 'fail')
elif mode == 'sign':
    domain, selector, keyfile = sys.argv[2], sys.argv[3], sys.argv[4]
    with open(keyfile, 'rb') as f:
        key = f.read()
    kwargs = {'signature_algorithm': b'ed25519-sha256'} if len(sys.argv) > 5 else {}
    sig = dkim.sign(message, selector.encode(), domain.encode(), key,
                    canonicalize=(b'relaxed', b'relaxed'), **kwargs)
    sys.stdout.buffer.write(sig)
elif mode == 'arcverify':
    records = json.loads(sys.argv[2])

    def dnsfunc(qname, timeout=5):
        q = qname.decode() if isinstance(qname, bytes) else qname
        return records.get(q.rstrip('.'), '').encode()

    cv, results, comment = dkim.arc_verify(message, dnsfunc=dnsfunc)
    print(cv.decode() if isinstance(cv, bytes) else cv, comment)
else:
    sys.exit('unknown mode ' + mode)
