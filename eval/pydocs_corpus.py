#!/usr/bin/env python3
"""Rebuild the corpus for eval/pydocs.jsonl from Debian's python3.11-doc package.

Usage:
    python3 eval/pydocs_corpus.py [TARGET]        (default TARGET: runs/pydocs)
    python3 eval/pydocs_corpus.py --set tune      (eval/pydocs_tune.jsonl's pages, into runs/pydocs-tune)
    python3 eval/pydocs_corpus.py --set report2   (eval/pydocs2.jsonl's pages, into runs/pydocs2)
    python3 eval/pydocs_corpus.py --set tune2     (eval/pydocs_tune2.jsonl's pages, into runs/pydocs-tune2)
    python3 eval/pydocs_corpus.py --set report3   (eval/pydocs3.jsonl's pages, into runs/pydocs3)
    python3 eval/pydocs_corpus.py TARGET --source /path/to/html --strict

Copies the 18 chosen HTML pages of the Python 3.11 documentation (or, with
--set tune, tune2, report2 or report3, the 14 pages of that set), and nothing else (no CSS, JS or
images), from the Debian install location into TARGET,
keeping their relative paths (e.g. library/csv.html). Each copied file is
checked against the sha256 recorded below, taken from Debian package
python3.11-doc version 3.11.2-6+deb12u9 (documentation of Python 3.11.2).

A differing hash (e.g. another Debian revision) prints a warning naming the
file; the file is still copied, and the exit status stays 0 unless --strict
is given. A missing file is an error: nothing is copied and the exit status
is 1; install the pages with `apt-get install python3.11-doc`.

Standard library only.
"""

import argparse
import hashlib
import os
import shutil
import sys

DEBIAN_PACKAGE = "python3.11-doc"
DEBIAN_VERSION = "3.11.2-6+deb12u9"

# Where Debian installs the HTML (the -doc directory is a symlink to the first).
DEFAULT_SOURCES = (
    "/usr/share/doc/python3.11/html",
    "/usr/share/doc/python3.11-doc/html",
)

# relative path -> sha256 of the file shipped in python3.11-doc 3.11.2-6+deb12u9
PAGES = {
    "tutorial/introduction.html": "410e3a5e4a5ad075b83cbbea94edc846f11cc0da42f33d61a1e4dade610fb3c2",
    "tutorial/modules.html": "1f3d0a67082c38548a6e32191b71b7f4f1e06f206be292e0f1796a050cf4d3c2",
    "tutorial/classes.html": "337afd39fcd650d0e324fb325e531aeb945340235843c2aadf21470ce646e3af",
    "tutorial/venv.html": "ded1b0818b958bdf35f7d595efea0faa3d34d56a9c57d251197cd302079d484a",
    "tutorial/floatingpoint.html": "127956480d04e631a886c797d20038db12f9331373d724a3528368b8cc25ac96",
    "library/codecs.html": "a7b796d66a6d3d40bbf28b49e58339b9957cb5909347697ad7d4b50127a683fd",
    "library/csv.html": "74036ba8de0b89392742f8e4c722f39bba6d73d611958be919416ad880f92c9d",
    "library/gettext.html": "55f682ee13fa9a5c3bb59fcb1f353049a48e735112f2fd4da8050e1baad11c96",
    "library/locale.html": "7c1dbb2fdf74fd156e7073ac6f914ab176e6eee87b4f23356e271bb78343c564",
    "library/math.html": "cb5b8140f4b657d6d25cd8010a034572546f090208d5c5374ae40fe2008d95c4",
    "library/random.html": "5edc8c6ed704e8c16b128f7d1994726e3e850fa46743bd1466448c28217e2146",
    "library/smtplib.html": "9ed145f7106c6b9fa781f9e1436f6a762cb9bb60ae906989e883fe727e7d55e2",
    "library/string.html": "fa4e7437f2087902ba4262403c524881f75419f036dd362528addad19b1b8b61",
    "library/threading.html": "089047fe552eefc35d4bd69472e997f4d75730afb557cd82894691942c972077",
    "library/xml.dom.html": "28bd0c53c8c36abfdc0142003241835882b47c21847c3fb6a3ac7630e7ce9910",
    "library/zipfile.html": "ccbdcf76b36ac4e4c835b6c5eafe64683a9df1434e62a4855e35de9eb40843b0",
    "howto/urllib2.html": "d4b1f637604d2bc8dcc276b1abef42c04d93770b434e81e8d0336f87958dfd36",
    "faq/library.html": "495a663150c87fefc5c01f431019a7d9e10c5241225ed20483c873af76b34af5",
}


# the 14 pages of eval/pydocs_tune.jsonl (a separate set for choosing rules), same package and version
TUNE_PAGES = {
    "tutorial/errors.html": "5b1116a3355bf856bfe5e4a392cc900fc5359474586719526cdf46d90277ba36",
    "tutorial/inputoutput.html": "97e71b3c7d90463a1ae44d37d830705cd26bde95f3c0ec953e5464615cea0ccd",
    "tutorial/stdlib.html": "2832292334ab1b7d666af0946d3eb55f54a4ae7f51a7931a8474e0adae431732",
    "tutorial/controlflow.html": "53409aecc8261868f5ed6612ba5fbe0ef38d2c673afb539b0011e952e09e2650",
    "library/json.html": "0dafac80995a7c5e5001b4a35bfaa3b1c5170ad8efe95618d8859263c47824d5",
    "library/gzip.html": "89b33870038ffc2ab91d6fb86982a4eba7f9f66f371a3c4ce05df87b202ddd0b",
    "library/secrets.html": "8b5728811e3dddb6b7009d3e8fdd34052bf02a5c977755a0a6f429128a164d10",
    "library/tempfile.html": "905f5dcb07432c7142dbd12e55c4b178c523bc4d553c234350870762708f41e5",
    "library/heapq.html": "8bf965324de41e60e59009ccb51faea6ada4de4408876ac75d09fbea3fc74a18",
    "library/timeit.html": "89741bdd5fe3a3bacd81e2ec633e192a4692afb1fbf5f4d0487b6c79d28c80c3",
    "howto/sorting.html": "a39e17e7ba04cc99f477cd9b9e1fa843b3540c551016109065ce4d797552b737",
    "howto/sockets.html": "8cb419f59842bbfc9240bd3f1c3c20bf9d1f89837db31eb92892876a9514f335",
    "faq/general.html": "cd614038685edf4c8b5530ccd1127c4f697470726e4aa835f93ee1198b50e182",
    "faq/windows.html": "9d1bad006438ee23b78acfaf7e3e369e61dbf0e89461ef25a978db92fde0d9f4",
}
# the 14 pages of eval/pydocs2.jsonl (a second set for reporting), same package and version
REPORT2_PAGES = {
    "tutorial/datastructures.html": "a9f0c995d4da24154861bdc9f1c953b1acef82717b5fb59d37623858b7028a1d",
    "tutorial/stdlib2.html": "b3d7c20be1c7f8646ff69fb52074c8bf5faca4a98a9d32aea35c9f4ad4e50017",
    "library/pathlib.html": "97c08afdce8f5b03d3dcd6edf98d6cb42c0c5fcaec7bddfc5824b502789e2fd8",
    "library/shutil.html": "a1af550b55e09f47deb71f6526352444b8063eae337519a5ed5fe80fa6031bf1",
    "library/collections.html": "642207342eee4acb30ad2b2d92272bd80c35d6c9e768d57bd5826659eaf47230",
    "library/functools.html": "231cf68880ba8716c2801c254ca0ce52dcc303ba5d7794d186f968c84c16e9c1",
    "library/hashlib.html": "2d75e04bff475a39adebe2c22d2dd34223afe3d903de1407d012a7bb02c0fe53",
    "library/zlib.html": "62d538c04b311f653f1436579ce38760f78efe0a6533eca5971cec1c5345a1af",
    "library/statistics.html": "3fa49e0c07e2c712db0c348384201d3e055195567db4e3c66c75ffee041a720c",
    "library/base64.html": "dea0fdc9c287f89c376f40f5a7e3ed7581d606fa06feb6a7728b53f714454b22",
    "howto/logging.html": "c919c9fb217ed64238d5fd1175ab15b1777bf4e2799e9deea2bcd50dd1e51724",
    "howto/regex.html": "e28e12f08aecef54fc1ebea518148720b1e4201e9de1bc06cddcd180e6727477",
    "howto/unicode.html": "8a74dd6bbadde1d7f75e88e1d2be96bc3654d0ee46f10ce24e739be23f2e447a",
    "faq/design.html": "818fe539f131f45b4e354f8bc3df7b89e5d71c68923c0dbf8299cbd680b38e30",
}
# the 14 pages of eval/pydocs_tune2.jsonl (a second set for choosing rules), same package and version
TUNE2_PAGES = {
    "tutorial/interpreter.html": "a3427acdba23a65e1ed91e2395af63816cf3144054f455d9b309a74ec7e4779c",
    "library/bisect.html": "efbde93438997fd048127778f41af457997926ff6340fc2f981fd5813b9ebc4a",
    "library/copy.html": "6c3f8436c65c7ef1e133a68f36f7d487aeb70263bc6dd351cb8ef29079d34273",
    "library/glob.html": "146b2931da8efe79ec50541b509fef8613414532e58642434662622019a3aa87",
    "library/fnmatch.html": "09bae177af3bbeacfaf9fe12b1d571b772761ddf45a6a22e485d8641718b704a",
    "library/textwrap.html": "57d12cbe365de841a0b73a584e704894961dbdbd770bda6d567941959f69017d",
    "library/queue.html": "e49b329467a2b704de4e4a0e2a9fd57c42c09261b43eb31f537f552595e07075",
    "library/uuid.html": "3a4c863ca86e2181a5c59b5da0f9cbe53ebff7b09ffaf5c73f3dd009afda77f9",
    "library/difflib.html": "2cfc0e3f82a6519db516d48423f6b358e8028b7bb32da057cae2d84095387145",
    "library/configparser.html": "3c9c581a53ecc0b85796df1f8772d5c53b4464f459087ccba0b7fe6732b21eb0",
    "library/pprint.html": "4b5448e718143110a1ecc0cac79fa2d551a14a1a30b3ba40461b8c1b7a9fcd12",
    "howto/argparse.html": "043925ad31e64db04c327c424e594cc328b31a7e2a76cbab4ecff2ffc03f3ec5",
    "library/dataclasses.html": "c0271fef3e95e696ecdbe7e4b7ba632a78f24b4005d449c5a92d12e3a7eee95a",
    "library/atexit.html": "3362f87c794bba4485bb456187944f835f0c4afc79c8142577b3392f64d43f3a",
}
# the 14 pages of eval/pydocs3.jsonl (a third set for reporting), same package and version
REPORT3_PAGES = {
    "tutorial/appendix.html": "447498d2ffabbe6397f140ee0581efe0b80ad25204cea86d680b898f54375baf",
    "library/time.html": "9491c8cfb16a278468c1eb93f2462474ddab425147ac1549e0fa218c13b49c4b",
    "library/shlex.html": "acf3efd71e19b573f20a0a688de2bf7463e669d49d3f7676a7e70b94d2fcc62d",
    "library/tarfile.html": "447c17629fa27745a64318a2c882960eecb83cd6c44263ffce8d5ed90f3005d9",
    "library/gc.html": "51ba7572e7e0d8ec4e710a0883e6498a2e4ca402cb04bfe800bb4355687ceb30",
    "library/warnings.html": "bde04a2f3e3d7f96f14fa6f369b76fcc7043ca03c896a29fe28ee1b5ca5baa24",
    "library/weakref.html": "9d8ddf2138ba0fd3cf1d512b7145bf2e463da8491ddeddc36f0f5178500fdfef",
    "library/struct.html": "ce936ac3fcdc55ff76363361694df43b3066d04c60188f237574c9578e569536",
    "library/enum.html": "33e546457069b22f132ea62c6a0c29e1aeed2bff1b896c2d2e537487021c7ca3",
    "library/tomllib.html": "af21b82eeae7017d83f749ed489f80b031eba70ab5cc9ca11efa2d6425a3a425",
    "library/zoneinfo.html": "2a340d733653b1036cfe6ce4a7f241431543d8a6b6dd949bd8b599b9dfc3ddac",
    "library/webbrowser.html": "a0c9767f487eccc820f8cca2554bc6b02681e842077a8ba879d3f1b2908326bb",
    "library/sched.html": "7e820848a1b8b3ae80b83922b238635d96162d5ff27cebb193325f1c24726230",
    "howto/ipaddress.html": "360b47ab1d1c821a69b8e07941853d23cae5accc11f793ce93f69960419558b9",
}
SETS = {
    "report": (PAGES, os.path.join("runs", "pydocs")),
    "tune": (TUNE_PAGES, os.path.join("runs", "pydocs-tune")),
    "report2": (REPORT2_PAGES, os.path.join("runs", "pydocs2")),
    "tune2": (TUNE2_PAGES, os.path.join("runs", "pydocs-tune2")),
    "report3": (REPORT3_PAGES, os.path.join("runs", "pydocs3")),
}


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def find_source(explicit):
    candidates = [explicit] if explicit else list(DEFAULT_SOURCES)
    for cand in candidates:
        if cand and os.path.isdir(cand):
            return cand
    return candidates[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "target",
        nargs="?",
        default=None,
        help="folder to copy the pages into (default: runs/pydocs; with --set, the folder named above)",
    )
    parser.add_argument(
        "--set",
        choices=sorted(SETS),
        default="report",
        help="whose pages: eval/pydocs.jsonl's (report, default), eval/pydocs_tune.jsonl's (tune), "
        "eval/pydocs_tune2.jsonl's (tune2), eval/pydocs2.jsonl's (report2) or eval/pydocs3.jsonl's (report3)",
    )
    parser.add_argument(
        "--source", default=None, help=f"HTML root of the Python 3.11 docs (default: {DEFAULT_SOURCES[0]})"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero when a file's sha256 differs from the table"
    )
    args = parser.parse_args(argv)
    pages, default_target = SETS[args.set]
    args.target = args.target or default_target

    source = find_source(args.source)
    missing = [rel for rel in pages if not os.path.isfile(os.path.join(source, rel))]
    if missing:
        for rel in missing:
            print(f"error: missing {os.path.join(source, rel)}", file=sys.stderr)
        print(
            f"error: {len(missing)} of {len(pages)} pages not found under {source}; run `apt-get install "
            f"{DEBIAN_PACKAGE}` (this table is from version {DEBIAN_VERSION})",
            file=sys.stderr,
        )
        return 1

    mismatched = []
    for rel, expected in pages.items():
        src = os.path.join(source, rel)
        dst = os.path.join(args.target, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        got = sha256_of(dst)
        if got != expected:
            mismatched.append(rel)
            print(
                f"warning: sha256 of {rel} differs from the recorded one ({DEBIAN_PACKAGE} {DEBIAN_VERSION}); "
                f"expected {expected}, got {got}. Gold answers may not match this revision.",
                file=sys.stderr,
            )

    print(f"copied {len(pages)} pages from {source} to {args.target} ({len(mismatched)} hash mismatches)")
    if mismatched and args.strict:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
