#!/usr/bin/env python3
"""Writes small seed inputs per fuzz target into fuzz/seeds/<target>/ (committed)."""
import io, os, shutil, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures", "extract")
sys.path.insert(0, FIX)
import make_fixtures as mf  # noqa: E402

def put(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def zbytes(entries, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for n, d in entries:
            z.writestr(n, d)
    return b.getvalue()

def fx(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()

doc_xml = mf.docx_xml().encode()
rels = b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
docx = zbytes([("word/document.xml", doc_xml), ("_rels/.rels", rels), ("word/header1.xml", b'<w:hdr xmlns:w="x"><w:p><w:r><w:t>h</w:t></w:r></w:p></w:hdr>')])
put("docx", "spec.docx", docx)
put("docx", "document.xml", doc_xml)
put("xlsx", "sheet.ods", fx("lo_sheet.ods"))
put("xlsx", "sheet1.xml", b'\x00<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>\xd0\x90</t></is></c><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
with tempfile.TemporaryDirectory() as d:
    shutil.copy(os.path.join(FIX, "lo_sheet.ods"), d)
    subprocess.run(["soffice", "--headless", "--convert-to", "xlsx", "--outdir", d, os.path.join(d, "lo_sheet.ods")], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, "lo_sheet.xlsx"), "rb") as f:
        put("xlsx", "sheet.xlsx", f.read())
put("zip", "lot.zip", zbytes([("a/readme.txt", "Пікірлер".encode()), ("inner.zip", zbytes([("x.txt", b"x")])), ("spec.docx", docx)]))
put("zip", "stored.zip", zbytes([("t.txt", "текст".encode("cp1251"))], zipfile.ZIP_STORED))
for n in ["lo_ru_kk.pdf", "reportlab_ru_kk.pdf", "scan_no_text.pdf"]:
    put("pdf", n, fx(n))
put("html", "page.html", '<meta charset="windows-1251"><title>Т</title><table><tr><td>Пікір</td></tr></table><script>x</script><pre> a  b </pre>'.encode("cp1251", "replace"))
put("rtf", "lo.rtf", fx("lo_ru_kk.rtf"))
put("rtf", "small.rtf", b"{\\rtf1\\ansi\\ansicpg1251{\\fonttbl{\\f1\\fcharset204 T;}}\\f1\\'d2\\u1179?{\\*\\x y}\\cell\\row\\bin3 abc\\par}")
def der(tag, c):
    n = len(c)
    if n < 128:
        l = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        l = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + l + c
OID_SIGNED = bytes([0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02])
OID_DATA = bytes([0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01])
def cms(content):
    eci = der(0x30, OID_DATA + der(0xA0, der(0x04, content)))
    sd = der(0x30, der(0x02, b"\x01") + der(0x31, b"") + eci + der(0x31, b""))
    return der(0x30, OID_SIGNED + der(0xA0, sd))
put("cms", "signed_text.cms", cms("Подписанный текст".encode()))
put("cms", "signed_docx.cms", cms(docx))
put("text", "cp1251.txt", "Техническое задание на услуги".encode("cp1251"))
put("text", "utf16le.txt", "Пікірлер".encode("utf-16-le"))
put("text", "koi8.txt", "Накрутка лайков".encode("koi8-r"))
put("ole", "lo.doc", fx("lo_ru_kk.doc"))
put("ole", "lo.xls", fx("lo_sheet.xls"))
# #22: markup nested past the tree parser's depth cap, text with stray NULs, a small
# FlateDecode bomb (64 MiB of spaces; the fuzz limits stop it, the tests use 2 GiB).
put("html", "nested.html", b"<html><body>" + b"<div>" * 2000 + "Пікір &amp; <b>жауап</b>".encode() + b"</div>" * 5)
put("text", "stray_nul.txt", "Техническое\x00 задание: 300 комментариев в месяц".encode())
def flate_bomb_pdf(n):
    import zlib
    c = zlib.compressobj(9)
    z = b"".join(c.compress(b" " * (1 << 20)) for _ in range(n >> 20)) + c.flush()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(z) + z + b"\nendstream"]
    out, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
put("pdf", "flate_bomb_64m.pdf", flate_bomb_pdf(64 << 20))
