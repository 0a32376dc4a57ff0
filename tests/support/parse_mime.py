#!/usr/bin/env python3
"""Parse a message file the way a mail client would (Python's email package) and print
JSON: headers (decoded), defects, content type, and each leaf part decoded."""
import email
import json
import sys
from email import policy

with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=policy.default)
parts = []
defects = [str(d) for d in m.defects]
for p in m.walk():
    defects += [str(d) for d in p.defects]
    if p.is_multipart():
        continue
    parts.append(
        {
            "type": p.get_content_type(),
            "charset": p.get_content_charset(),
            "body": p.get_content(),
        }
    )
print(
    json.dumps(
        {
            "headers": [[k, str(v)] for k, v in m.items()],
            "content_type": m.get_content_type(),
            "defects": defects,
            "parts": parts,
        }
    )
)
