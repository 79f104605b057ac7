"""Word 97-2003 (.doc) reports, converted to DOCX by LibreOffice and read as DOCX.

`soffice --headless --convert-to docx` runs once per file with a private, throw-away
LibreOffice profile (-env:UserInstallation), so conversions running side by side never share
or lock a profile and a user's own LibreOffice settings are never touched; the profile turns
macros off and blocks links to untrusted places. It is killed, with everything it started,
after CONVERT_TIMEOUT_SECONDS (a conversion takes about 2 s). Without LibreOffice the file fails with
ConverterMissing, which says what to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from extractors.document import Document
from extractors.docx import parse_docx
from extractors.errors import ConversionFailed, ConverterMissing

READER = "doc/libreoffice+python-docx"
CONVERT_TIMEOUT_SECONDS = 120
#: The names LibreOffice's launcher goes by.
SOFFICE_NAMES = ("soffice", "libreoffice")
INSTALL_HINT = "install LibreOffice (Debian/Ubuntu: apt-get install libreoffice-writer-nogui) and run again"

#: The private profile's settings: no macros run, no links to untrusted places followed.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""

def find_soffice() -> str | None:
    return next((found for name in SOFFICE_NAMES if (found := shutil.which(name))), None)


def convert_to_docx(path: str, data: bytes, *, timeout: float | None = None) -> bytes:
    """The DOCX LibreOffice makes of a .doc (or .rtf) file's bytes."""
    timeout = CONVERT_TIMEOUT_SECONDS if timeout is None else timeout
    soffice = find_soffice()
    if soffice is None:
        raise ConverterMissing(path, f"reading a .doc (Word 97-2003) file needs LibreOffice, which is not installed: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="nianbao-doc-") as work:
        work_dir = Path(work)
        source = work_dir / "report.doc"
        source.write_bytes(data)
        out_dir = work_dir / "out"
        (work_dir / "profile" / "user").mkdir(parents=True)
        (work_dir / "profile" / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS, encoding="utf-8")
        command = [
            soffice,
            f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
            "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
            "--convert-to", "docx:MS Word 2007 XML",
            "--outdir", str(out_dir),
            str(source),
        ]
        env = {**os.environ, "HOME": str(work_dir)}
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ConversionFailed(path, f"LibreOffice did not convert the .doc file within {timeout:g} s") from None
        finally:
            if process.poll() is None:
                _kill_group(process)
        converted = out_dir / "report.docx"
        if process.returncode != 0 or not converted.is_file() or converted.stat().st_size == 0:
            detail = " ".join((stderr or stdout or b"").decode("utf-8", "replace").split())[:300]
            raise ConversionFailed(
                path,
                f"LibreOffice could not convert the .doc file (exit code {process.returncode}"
                + (f": {detail}" if detail else "") + ")",
            )
        return converted.read_bytes()


def _kill_group(process: subprocess.Popen) -> None:
    """soffice is a launcher script: end the whole session it started, not just the script."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def parse_doc(path: str, data: bytes) -> Document:
    return parse_docx(path, convert_to_docx(path, data), reader=READER)
