"""`make publish-console STACK=<name>`: the config.json it writes from the stack's outputs (decision record
0031's shape), and how each built file is uploaded: index.html and config.json never kept by caches, the
content-hashed assets kept for good."""

import json

from infra.publish_console import console_config, uploads

OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
    "UserPoolId": "eu-west-1_AbCdEf",
    "UserPoolClientId": "4client",
    "HostedUiDomain": "https://connections-acme.auth.eu-west-1.amazoncognito.com",
    "ConsoleUrl": "https://d111.cloudfront.net/",
    "ConsoleBucket": "stack-consolebucket-1",
    "ConsoleDistributionId": "E2DIST",
    "TableName": "ignored",
}


def test_config_json_names_the_api_and_the_hosted_sign_in_of_the_stack():
    assert console_config(OUTPUTS, "eu-west-1") == {
        "api_base_url": "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "sign_in": {
            "mode": "cognito",
            "authority": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf",
            "domain": "https://connections-acme.auth.eu-west-1.amazoncognito.com",
            "client_id": "4client",
            "redirect_uri": "https://d111.cloudfront.net/",
        },
    }


def test_config_json_of_a_stack_with_a_domain_of_its_own_sends_people_back_there():
    custom = console_config({**OUTPUTS, "ConsoleUrl": "https://console.example.com/"}, "eu-west-1")
    assert custom["sign_in"]["redirect_uri"] == "https://console.example.com/"


def test_a_stack_without_the_consoles_outputs_is_named_missing():
    try:
        console_config({k: v for k, v in OUTPUTS.items() if k != "HostedUiDomain"}, "eu-west-1")
    except KeyError as missing:
        assert "HostedUiDomain" in str(missing)
    else:
        raise AssertionError("no error for a missing output")


def test_hashed_assets_are_kept_for_good_and_the_rest_revalidated(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "index-BbrkNwfN.js").write_text("js")
    (tmp_path / "assets" / "index-BmCbuP22.css").write_text("css")
    (tmp_path / "index.html").write_text("<!doctype html>")
    planned = {u.key: u for u in uploads(tmp_path, {"api_base_url": "x"})}
    assert sorted(planned) == [
        "assets/index-BbrkNwfN.js",
        "assets/index-BmCbuP22.css",
        "config.json",
        "index.html",
    ]
    assert planned["assets/index-BbrkNwfN.js"].cache_control == "public, max-age=31536000, immutable"
    assert planned["assets/index-BbrkNwfN.js"].content_type == "text/javascript"
    assert planned["assets/index-BmCbuP22.css"].content_type == "text/css"
    for key in ("index.html", "config.json"):
        assert planned[key].cache_control == "no-cache"
    assert planned["index.html"].content_type == "text/html; charset=utf-8"
    assert json.loads(planned["config.json"].body) == {"api_base_url": "x"}
    # the upload's own config.json, never one a build left in dist/
    assert [u.key for u in uploads(tmp_path, {})].count("config.json") == 1
    # index.html goes last: a reader never gets a page whose assets are not there yet
    assert list(planned)[-1] == "index.html"
