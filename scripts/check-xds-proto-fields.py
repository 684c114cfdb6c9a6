#!/usr/bin/env python3
"""Checks Skiff's hand-written xDS protos (Protos/xds) against PyPI's xds-protos: every message, enum and field Skiff
declares must exist in Envoy's v3 API with the same number, type, label and message/enum type (field names and numbers
are the wire protocol; a wrong number would decode silently into the wrong field).

Usage: scripts/check-xds-proto-fields.py  (needs `protoc` and a Python with xds-protos; the script makes a venv in
.build-venv/ and installs xds-protos there if `python3 -c 'import envoy'` fails).
Exit status 0 when everything matches; otherwise one line per mismatch."""
import importlib, os, pkgutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".build-venv")

def reexec_in_venv():
    try:
        import envoy  # noqa: F401
        import google.protobuf  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("SKIFF_XDS_CHECK_VENV"):
        sys.exit("xds-protos not importable even in " + VENV)
    py = os.path.join(VENV, "bin", "python3")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "xds-protos"])
    os.environ["SKIFF_XDS_CHECK_VENV"] = "1"
    os.execv(py, [py] + sys.argv)

reexec_in_venv()

from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402

protos_dir = os.path.join(ROOT, "Protos", "xds")
files = sorted(os.path.relpath(os.path.join(d, f), protos_dir)
               for d, _, fs in os.walk(protos_dir) for f in fs if f.endswith(".proto"))
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "ours.pb")
    subprocess.check_call(["protoc", "-I", protos_dir, "-I", "/usr/include", "--descriptor_set_out=" + out] + files)
    ours = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read())

# Import every generated module of the packages we declare, so the default pool knows Envoy's messages.
for package in sorted({f.package for f in ours.file}):
    try:
        mod = importlib.import_module(package)
    except ImportError:
        print("no such package in xds-protos:", package)
        continue
    for info in pkgutil.iter_modules(mod.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(package + "." + info.name)
pool = descriptor_pool.Default()

problems = []
checked = 0

def check_enum(full, enum):
    global checked
    try:
        theirs = pool.FindEnumTypeByName(full)
    except KeyError:
        problems.append(f"enum {full}: not in Envoy's API"); return
    for value in enum.value:
        checked += 1
        t = theirs.values_by_name.get(value.name)
        if t is None or t.number != value.number:
            problems.append(f"enum {full}.{value.name} = {value.number}: Envoy has "
                            f"{t.number if t else 'no such value'}")

def check_message(full, msg):
    global checked
    try:
        theirs = pool.FindMessageTypeByName(full)
    except KeyError:
        problems.append(f"message {full}: not in Envoy's API"); return
    for field in msg.field:
        checked += 1
        t = theirs.fields_by_name.get(field.name)
        if t is None:
            problems.append(f"{full}.{field.name}: Envoy has no such field"); continue
        ours_type = field.type_name.lstrip(".")
        theirs_type = (t.message_type.full_name if t.message_type else t.enum_type.full_name if t.enum_type else "")
        if t.number != field.number:
            problems.append(f"{full}.{field.name} = {field.number}: Envoy's number is {t.number}")
        if t.type != field.type or ours_type != theirs_type:
            problems.append(f"{full}.{field.name}: type {field.type} {ours_type}, Envoy's {t.type} {theirs_type}")
        if t.is_repeated != (field.label == field.LABEL_REPEATED):
            problems.append(f"{full}.{field.name}: repeated differs")
        ours_oneof = msg.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None
        theirs_oneof = t.containing_oneof.name if t.containing_oneof else None
        if ours_oneof != theirs_oneof and not (theirs_oneof or "").startswith("_"):
            problems.append(f"{full}.{field.name}: oneof {ours_oneof}, Envoy's {theirs_oneof}")
    for nested in msg.nested_type:
        if not nested.options.map_entry:
            check_message(full + "." + nested.name, nested)
    for enum in msg.enum_type:
        check_enum(full + "." + enum.name, enum)

for f in ours.file:
    for msg in f.message_type:
        check_message(f.package + "." + msg.name, msg)
    for enum in f.enum_type:
        check_enum(f.package + "." + enum.name, enum)
    for service in f.service:
        full = f.package + "." + service.name
        try:
            theirs = pool.FindServiceByName(full)
            for method in service.method:
                checked += 1
                t = theirs.methods_by_name.get(method.name)
                if t is None or t.input_type.full_name != method.input_type.lstrip(".") \
                        or t.output_type.full_name != method.output_type.lstrip("."):
                    problems.append(f"service {full}.{method.name}: differs from Envoy's")
        except KeyError:
            problems.append(f"service {full}: not in Envoy's API")

for p in problems:
    print(p)
print(f"{checked} fields, enum values and methods checked against xds-protos; {len(problems)} problems",
      file=sys.stderr)
sys.exit(1 if problems else 0)
