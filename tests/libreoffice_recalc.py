"""Recalculate a workbook in LibreOffice (headless, through UNO) for many input sets.

Run by the tests with the system Python (which has Debian's ``python3-uno``):

    /usr/bin/python3 tests/libreoffice_recalc.py JOB.json OUT.json

``JOB.json`` holds a list of ``{"workbook": path, "sets": [{"set": {"Sheet!B5": 0.1,
"Sheet!B8": null}, "read": ["Sheet!B9", ...]}, ...]}``, one per workbook. For each set the script writes the input cells
(``null`` clears a cell), forces a full recalculation (``calculateAll``) and reads
the cells' values, so nothing comes from values cached in the file. ``OUT.json``
gets, per workbook, one list of values per set (a formula error is written as the text
``"#ERR<code>"``). LibreOffice starts once, with its own throw-away profile, and loads
each workbook once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def _connect(pipe: str):  # pragma: no cover - runs under the system Python
    import uno

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 90
    while True:
        try:
            return resolver.resolve(
                f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # noqa: BLE001 - NoConnectException until soffice is up
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def _run_sets(doc, sets):  # pragma: no cover - system Python
    sheets = doc.getSheets()
    doc.enableAutomaticCalculation(False)  # one full recalculation per set, forced below
    doc.lockControllers()

    cache: dict = {}

    def cell(address: str):
        if address not in cache:
            sheet, ref = address.split("!")
            cache[address] = sheets.getByName(sheet).getCellRangeByName(ref.replace("$", ""))
        return cache[address]

    spent = {"write": 0.0, "calculate": 0.0, "read": 0.0}
    results = []
    for item in sets:
        t0 = time.time()
        for address, value in item["set"].items():
            c = cell(address)
            if value is None:
                c.clearContents(1 | 2 | 4 | 16)  # values, dates, text, formulas
            elif isinstance(value, str):
                c.setString(value)
            else:
                c.setValue(float(value))
        t1 = time.time()
        doc.calculateAll()
        t2 = time.time()
        row = []
        for address in item["read"]:
            c = cell(address)
            err = c.getError()
            if err:
                row.append(f"#ERR{err}")
            elif c.getType().value == "TEXT" or (c.getType().value == "FORMULA"
                                                 and c.FormulaResultType2 == 2):
                row.append(c.getString())
            else:
                row.append(c.getValue())
        results.append(row)
        spent["write"] += t1 - t0
        spent["calculate"] += t2 - t1
        spent["read"] += time.time() - t2
    print(", ".join(f"{k} {v:.1f} s" for k, v in spent.items()), file=sys.stderr)
    return results


def main(job_path: str, out_path: str) -> None:  # pragma: no cover - system Python
    import uno
    from com.sun.star.beans import PropertyValue

    job = json.load(open(job_path, encoding="utf-8"))
    profile = tempfile.mkdtemp(prefix="pbr_lo_profile_")
    pipe = f"pbr_eval_{os.getpid()}"
    soffice = shutil.which("soffice") or "/usr/bin/soffice"
    proc = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         f"-env:UserInstallation=file://{profile}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.time()
    try:
        ctx = _connect(pipe)
        print(f"LibreOffice up in {time.time() - start:.1f} s", file=sys.stderr)
        smgr = ctx.ServiceManager
        desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        hidden = PropertyValue()
        hidden.Name, hidden.Value = "Hidden", True
        everything = []
        for part in job:
            url = uno.systemPathToFileUrl(os.path.abspath(part["workbook"]))
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (hidden,))
            t = time.time()
            everything.append(_run_sets(doc, part["sets"]))
            doc.close(True)
            print(f"{len(part['sets'])} sets recalculated in {time.time() - t:.1f} s",
                  file=sys.stderr)
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(everything, f)
    finally:
        try:
            proc.terminate()
            proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1], sys.argv[2])
