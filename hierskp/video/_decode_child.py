"""Entry point of the decoder child process: ``python -m hierskp.video._decode_child ARGS_JSON``."""

import json
import sys

from hierskp.video.isolated import child_main

if __name__ == "__main__":
    child_main(json.loads(sys.argv[1]))
