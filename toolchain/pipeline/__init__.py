"""`neurodeploy pipeline`: one command from audio to the report (resumable, atomic stages).

    config.py  PIPE.toml schema and up-front validation
    stage.py   atomic stage folders with manifests (config hash, input hashes, versions, artifact hashes)
    stages.py  the stages: data, train_<run>, quantize, export, verify, evaluate, energy, report
    runner.py  runs / resumes them in order
    report.py  report.md, report.html and the figures
"""
