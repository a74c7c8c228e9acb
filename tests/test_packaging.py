"""`pip install forewarn` (or 'forewarn[agent]') brings only what the edge agent needs:
checked by installing the project into a fresh virtualenv (wheels from the package index
or pip's cache), then running the agent's command from it."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_FOR_THE_AGENT = ("numpy", "scikit-learn", "scipy", "fastapi", "sqlalchemy", "uvicorn",
                     "matplotlib", "amqtt", "alembic")


def test_the_agent_install_has_no_server_or_model_packages(tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    src = tmp_path / "src"  # a copy: building leaves build/ next to the sources
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", "node_modules"))
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", f"{src}[agent]"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, timeout=60).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "pymodbus" in names and "paho-mqtt" in names
    assert not names & set(NOT_FOR_THE_AGENT), sorted(names & set(NOT_FOR_THE_AGENT))
    forewarn = env / "bin" / "forewarn"
    r = subprocess.run([str(forewarn), "agent", "--help"], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 0 and "--config" in r.stdout
    # forewarn detect runs the agent's detectors on a CSV with the agent's install alone
    (tmp_path / "in.csv").write_text("time,temp\n" + "".join(
        f"{i},{20 + (i % 7) * 0.1 + (30 if i == 150 else 0):.1f}\n" for i in range(200)))
    r = subprocess.run([str(forewarn), "detect", "--data", "in.csv", "--out", "out.csv",
                        "--quiet"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert ",1," in (tmp_path / "out.csv").read_text().splitlines()[151]  # the jump at 150
    # the other parts say which extra they need instead of a traceback
    r = subprocess.run([str(forewarn), "api"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 2 and "pip install 'forewarn[api]'" in r.stderr
    assert sys.version_info >= (3, 11)
