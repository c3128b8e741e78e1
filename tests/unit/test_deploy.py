"""`make deploy` deploys with samconfig.toml: the stack's name and region are committed, the deploy section
is not (the first deploy is guided and saves the account's answers there), and the README's deploying
section names every parameter the stack asks for."""

import re
import tomllib
from pathlib import Path

from infra.template import load

ROOT = Path(__file__).resolve().parents[2]


def samconfig() -> dict:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def deploying_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"^## Deploying to AWS\n(.*?)^## ", readme, re.M | re.S).group(1)


def test_samconfig_names_the_stack_and_leaves_the_first_deploy_guided():
    config = samconfig()
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"] == {"stack_name": "connections", "region": "us-east-1"}
    assert "deploy" not in config["default"], "a committed deploy section would skip the guided first deploy"


def test_the_readme_says_what_each_stack_parameter_is_for():
    section = deploying_section()
    missing = [name for name in load()["Parameters"] if f"`{name}`" not in section]
    assert missing == [], f"the README's deploying section does not mention {missing}"


def test_the_readme_deploys_with_make_deploy():
    assert "make deploy" in deploying_section()
