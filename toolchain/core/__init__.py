"""Cross-cutting pieces every stage uses.

    errors.py      the error types that reach the user as one line (they name the file, key or value)
    fileio.py      atomic artifact writing (temp file + rename) and SHA-256 hashing
    tensorfile.py  one-file artifacts: named arrays + JSON header + content digest (safetensors)
    result.py      SimResult: what every simulator (float model, emulator, Lava, netx) returns
    metrics.py     the one ROC-AUC helper and the one class-score function
    vocab.py       the one vocabulary: resets, encodings, model kinds, fold kinds
    progress.py    progress bars on stderr
"""
