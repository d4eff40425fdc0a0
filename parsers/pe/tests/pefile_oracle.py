#!/usr/bin/env python3
"""Independent reference for triage-pe's tests: prints, as one JSON object
per line, the facts Python pefile reads from each file given on the command
line (directories are walked). Names are pefile's own constants with their
IMAGE_* prefixes cut, so they come from pefile's tables, not from ours.

usage: pefile_oracle.py FILE_OR_DIR...
"""
import datetime
import hashlib
import json
import os
import sys

import pefile


def strip(name, prefix):
    return name[len(prefix):] if name and name.startswith(prefix) else name


def flags(value, table, prefix):
    # pefile's tables map both name->value and value->name; keep single bits.
    out = []
    for name, bit in table:
        if isinstance(bit, int) and bit & (bit - 1) == 0 and value & bit:
            out.append(strip(name, prefix))
    return sorted(set(out))


def decode(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def version_info(pe):
    """First StringTable of the first VS_VERSIONINFO, like triage-pe."""
    out = {"fixed_file_version": None, "string_table": None, "strings": []}
    fixed = getattr(pe, "VS_FIXEDFILEINFO", None)
    if fixed:
        f = fixed[0]
        ms, ls = f.FileVersionMS, f.FileVersionLS
        out["fixed_file_version"] = f"{ms >> 16}.{ms & 0xffff}.{ls >> 16}.{ls & 0xffff}"
    for file_info in (getattr(pe, "FileInfo", None) or [[]])[0]:
        if getattr(file_info, "Key", b"") != b"StringFileInfo":
            continue
        for table in file_info.StringTable:
            out["string_table"] = decode(table.LangID)
            out["strings"] = [[decode(k), decode(v)] for k, v in table.entries.items()]
            break
        break
    return out


def authenticode_sha256(pe, data):
    """The SHA-256 Authenticode image digest from pefile's field offsets: the
    file without the CheckSum field, the security directory entry and the
    certificate table; an unsigned file padded with zeros to a multiple of 8,
    as signing it would. None without a security directory entry."""
    dirs = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    index = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_SECURITY"]
    if len(dirs) <= index:
        return None
    checksum = pe.OPTIONAL_HEADER.get_field_absolute_offset("CheckSum")
    sec = dirs[index]
    entry = sec.get_file_offset()
    h = hashlib.sha256()
    h.update(data[:checksum])
    h.update(data[checksum + 4:entry])
    start, size = sec.VirtualAddress, sec.Size
    if start and size and start + size <= len(data):
        h.update(data[entry + 8:start])
        h.update(data[start + size:])
    else:
        h.update(data[entry + 8:])
        h.update(b"\0" * (-len(data) % 8))
    return h.hexdigest()


def facts(path):
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as e:
        return {"path": path, "error": str(e)}
    pe.parse_data_directories(directories=[
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"],
        pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"],
    ])
    fh_, oh = pe.FILE_HEADER, pe.OPTIONAL_HEADER
    dlls = []
    count = 0
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
        name = decode(entry.dll).lower()
        if name not in dlls:
            dlls.append(name)
        count += len(entry.imports)
    export_name = None
    exp = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if exp is not None and exp.name is not None:
        export_name = decode(exp.name)
    return {
        "path": path,
        "machine": strip(pefile.MACHINE_TYPE.get(fh_.Machine), "IMAGE_FILE_MACHINE_"),
        "machine_raw": fh_.Machine,
        "subsystem": (strip(pefile.SUBSYSTEM_TYPE.get(oh.Subsystem), "IMAGE_SUBSYSTEM_") or "").lower(),
        "subsystem_raw": oh.Subsystem,
        "characteristics": fh_.Characteristics,
        "characteristics_flags": flags(fh_.Characteristics, pefile.image_characteristics, "IMAGE_FILE_"),
        "dll_characteristics": oh.DllCharacteristics,
        "dll_characteristics_flags": flags(oh.DllCharacteristics, pefile.dll_characteristics, "IMAGE_DLLCHARACTERISTICS_"),
        "is_dll": pe.is_dll(),
        "is_64": oh.Magic == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS,
        "timestamp": fh_.TimeDateStamp,
        "timestamp_utc": datetime.datetime.fromtimestamp(fh_.TimeDateStamp, datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entry_point": oh.AddressOfEntryPoint,
        "image_base": oh.ImageBase,
        "sections": [
            {
                "name": s.Name.rstrip(b"\0").decode("utf-8", "replace"),
                "virtual_address": s.VirtualAddress,
                "virtual_size": s.Misc_VirtualSize,
                "raw_offset": s.PointerToRawData,
                "raw_size": s.SizeOfRawData,
                "characteristics": s.Characteristics,
                "entropy": s.get_entropy(),
            }
            for s in pe.sections
        ],
        "imports": dlls,
        "imported_function_count": count,
        "export_name": export_name,
        "version_info": version_info(pe),
        # pefile counts a certificate table as overlay; triage-pe reports
        # where the overlay starts the same way but its size without it.
        "overlay_offset": pe.get_overlay_data_start_offset() or len(data),
        "checksum_stored": oh.CheckSum,
        "checksum_computed": pe.generate_checksum(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "authenticode_sha256": authenticode_sha256(pe, data),
    }


def main(args):
    paths = []
    for a in args:
        if os.path.isdir(a):
            for root, _dirs, files in os.walk(a):
                paths.extend(os.path.join(root, f) for f in files)
        else:
            paths.append(a)
    for p in sorted(paths):
        print(json.dumps(facts(p), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
