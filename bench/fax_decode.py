"""Pages per second decoded by sipfault.fax.t4, for MH, MR and MMR.

    PYTHONPATH=. python bench/fax_decode.py [--pages N]

Each page is the generated test page (A4, fine resolution), coded once and decoded N times.
"""

from __future__ import annotations

import argparse
import time

from sipfault.fax.t4 import Compression, decode_page, encode_page
from sipfault.fax.testpage import test_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()
    page = test_page("2024-01-01 00:00", "bench", 1, 1)
    for compression in Compression:
        data = encode_page(page.rows, page.width, compression, k=4)
        started = time.perf_counter()
        for _ in range(args.pages):
            decoded = decode_page(data, page.width, compression)
        elapsed = time.perf_counter() - started
        assert decoded.rows == page.rows
        print(f"{compression.value:4} {len(data):7d} octets/page "
              f"{args.pages / elapsed:8.1f} pages/s")


if __name__ == "__main__":
    main()
