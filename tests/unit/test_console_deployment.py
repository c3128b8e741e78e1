"""The console as template.yaml deploys it: a private bucket that only its CloudFront distribution reads
(origin access control), Cognito's hosted sign-in with the authorization code flow for a client without a
secret, the HTTP API's CORS open to the console's origin only, and the console's URL given to every
function that sends email. (cfn-lint and `sam validate --lint` check the rest: `make template`.)"""

from infra import template

CONSOLE_ORIGIN = {
    "Fn::If": [
        "ConsoleUrlGiven",
        {"Ref": "ConsoleUrl"},
        {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"},
    ]
}


def _one(kind: str) -> tuple[str, dict]:
    found = template.resources(kind)
    assert len(found) == 1, f"{kind}: {sorted(found)}"
    name, resource = next(iter(found.items()))
    return name, resource["Properties"]


def test_the_console_bucket_is_private_and_encrypted():
    name, bucket = _one("AWS::S3::Bucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "WebsiteConfiguration" not in bucket  # served through CloudFront only, not as a website
    assert name == "ConsoleBucket"


def test_only_the_distribution_reads_the_bucket_through_origin_access_control():
    _, policy = _one("AWS::S3::BucketPolicy")
    assert policy["Bucket"] == {"Ref": "ConsoleBucket"}
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert "${ConsoleDistribution}" in source["Fn::Sub"]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert all(s["Principal"] == "*" for s in denies)  # only refusals beside it (plain HTTP)

    _, oac = _one("AWS::CloudFront::OriginAccessControl")
    assert oac["OriginAccessControlConfig"]["SigningProtocol"] == "sigv4"
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    _, distribution = _one("AWS::CloudFront::Distribution")
    config = distribution["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": "ConsoleOriginAccessControl.Id"}
    assert origin["DomainName"] == {"Fn::GetAtt": "ConsoleBucket.RegionalDomainName"}
    assert config["DefaultRootObject"] == "index.html"
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    assert {b["ViewerProtocolPolicy"] for b in behaviours} == {"redirect-to-https"}
    assert {b["ResponseHeadersPolicyId"]["Ref"] for b in behaviours} == {"ConsoleHeaders"}
    # config.json names the stack the console talks to: never kept by CloudFront
    (config_json,) = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == "/config.json"]
    assert config_json["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed CachingDisabled


def test_the_console_pages_carry_a_strict_content_security_policy():
    _, headers = _one("AWS::CloudFront::ResponseHeadersPolicy")
    security = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    policy = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    policy = policy["Fn::Sub"] if isinstance(policy, dict) else policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    # the console fetches the API and Cognito's endpoints (discovery, token), nothing else
    assert "execute-api" in directives["connect-src"] and "cognito-idp" in directives["connect-src"]
    assert security["StrictTransportSecurity"]["Override"] is True


def _api_cors() -> dict:
    _, api = _one("AWS::Serverless::HttpApi")
    return api["CorsConfiguration"]


def test_the_api_answers_browsers_from_the_console_origin_only():
    cors = _api_cors()
    # one origin: the domain of your own when given, else the distribution's
    assert cors["AllowOrigins"] == [CONSOLE_ORIGIN]
    assert sorted(h.lower() for h in cors["AllowHeaders"]) == [
        "authorization",
        "content-type",
        "idempotency-key",
    ]
    assert [h.lower() for h in cors["ExposeHeaders"]] == ["retry-after"]
    assert cors.get("AllowCredentials", False) is False  # a bearer token, no cookies


def test_the_app_client_signs_in_with_the_code_flow_and_no_secret():
    clients = template.resources("AWS::Cognito::UserPoolClient")
    client = clients["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # never the implicit flow
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    for urls in (client["CallbackURLs"], client["LogoutURLs"]):
        assert "ConsoleDistribution.DomainName" in str(urls)
    _, domain = _one("AWS::Cognito::UserPoolDomain")
    assert domain["Domain"] == {"Ref": "HostedUiDomainPrefix"}


def test_people_are_sent_back_only_to_the_origin_the_api_answers():
    client = template.resources("AWS::Cognito::UserPoolClient")["UserPoolClient"]["Properties"]
    (back,) = client["CallbackURLs"]
    assert client["LogoutURLs"] == [back]
    given, own_domain, cloudfront = back["Fn::If"]
    origin_given, own_origin, cloudfront_origin = CONSOLE_ORIGIN["Fn::If"]
    assert given == origin_given
    assert own_domain == {"Fn::Sub": "${ConsoleUrl}/"} and own_origin == {"Ref": "ConsoleUrl"}
    assert cloudfront == {"Fn::Sub": cloudfront_origin["Fn::Sub"] + "/"}


def test_every_function_that_sends_email_gets_the_console_url():
    functions = template.resources("AWS::Serverless::Function")
    senders = {n for n, f in functions.items() if "SENDER_ADDRESS" in _variables(f)}
    assert senders == {"NotifyFunction", "StaleStationsDigestFunction"}
    for name in senders:
        assert _variables(functions[name])["CONSOLE_URL"] == CONSOLE_ORIGIN, name


def test_the_stack_outputs_what_publishing_the_console_needs():
    outputs = template.load()["Outputs"]
    assert {"ConsoleUrl", "ConsoleBucket", "ConsoleDistributionId", "HostedUiDomain"} <= set(outputs)


def _variables(function: dict) -> dict:
    return function["Properties"].get("Environment", {}).get("Variables", {})
