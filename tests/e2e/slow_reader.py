#!/usr/bin/python3
"""slow_reader.py - the far end of a slow destination: reads a FIFO that
tandem's file exporter writes, and copies it to a file, at most RATE bytes
per second, and not at all while PAUSE_FILE exists.

    slow_reader.py FIFO OUT RATE PAUSE_FILE
"""
import os
import sys
import time


def main():
    fifo, out, rate, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        sys.argv[4]
    chunk = max(1, rate // 100)
    fd = os.open(fifo, os.O_RDONLY)
    with open(out, "wb") as f:
        while True:
            if os.path.exists(pause):
                time.sleep(0.05)
                continue
            data = os.read(fd, chunk)
            if not data:
                break
            f.write(data)
            f.flush()
            time.sleep(0.01)
    os.close(fd)


if __name__ == "__main__":
    main()
