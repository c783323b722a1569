"""Redaction of credentials in text the bot passes on (logs, bundles, Slack):
- every documented shape loses its value (and keeps the name, scheme or flag that says what it was);
- lines that only mention a secret, a token or a password stay byte for byte (they are the evidence);
- `token: <one error word>` stays, `token: <random value>` goes;
- private key blocks: terminated ones go whole, an unterminated one takes its key lines, not the rest of
  the log; PGP private key blocks too;
- redacting twice changes nothing more.
"""

from __future__ import annotations

import pytest

from bot.redact import PRIVATE_KEY_MARK, redact

CANARY = "calico-canary-7f3a9c1d2e5b"
# Fake credential shapes, assembled at run time so secret scanners do not mistake this file for a leak.
PEM_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
PEM_END = "-----END RSA " + "PRIVATE KEY-----"
PGP_BEGIN = "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----"
PGP_END = "-----END PGP " + "PRIVATE KEY BLOCK-----"
SLACK_BOT_PREFIX = "xo" + "xb-"
AWS_KEY_ID = "AK" + "IA" + "CANARY7F3A9C1D2E"
AWS_TEMP_KEY_ID = "AS" + "IA" + "CANARY7F3A9C1D2E"
GITHUB_TOKENS = [
    prefix + "Canary7f3a9c1d2e5bCanary7f3a9c1d2e5b"
    for prefix in ("gh" + "p_", "gh" + "o_", "gh" + "s_", "gh" + "u_")
]
GITHUB_PAT = "github" + "_pat_" + "11ABCDEFG0" + "Canary7f3a9c1d2e5b_Canary7f3a9c1d2e5bCanary7f3a9c1d2e5b"
BASE64_LINE = "MIIEowIBAAKCAQEAzCanary7f3a9c1d2e5bQxYmGz4Kp0H5t8c1Z2n3Yx0qL9wR7sT"

# (line, the secret that must be gone, the text that must stay)
REDACTED_SHAPES = [
    pytest.param(
        f"Authorization: Bearer {CANARY}", CANARY, "Authorization: Bearer ", id="authorization-bearer"
    ),
    pytest.param(
        f"curl -H 'authorization: bearer {CANARY}=' https://172.21.0.1:443/api",
        CANARY,
        "' https://172.21.0.1:443/api",
        id="authorization-in-curl",
    ),
    pytest.param(
        "Authorization: Basic dXNlcjpjYWxpY28tY2FuYXJ5", "dXNlcjpjYWxpY28tY2FuYXJ5", "Basic ", id="basic"
    ),
    pytest.param(f'"Authorization": "Token {CANARY}"', CANARY, '"Token ', id="authorization-token-json"),
    pytest.param(
        f'Authorization: Digest username="admin", realm="calico", response="{CANARY}"',
        CANARY,
        "Authorization: Digest ",
        id="authorization-digest",
    ),
    pytest.param(
        f"map[Accept:[application/json] Authorization:[Bearer {CANARY}] User-Agent:[kubectl]]",
        CANARY,
        "User-Agent:[kubectl]]",
        id="authorization-go-map",
    ),
    pytest.param(f"Cookie: session={CANARY}; other=def", CANARY, "Cookie: ", id="cookie"),
    pytest.param(f"Cookie: other=def; session={CANARY}", CANARY, "Cookie: ", id="cookie-second"),
    pytest.param(f"Set-Cookie: id={CANARY}; Path=/; HttpOnly", CANARY, "Set-Cookie: ", id="set-cookie"),
    pytest.param(f'  password "{CANARY} two words";', CANARY, '  password "', id="bird-password"),
    pytest.param(f"--password {CANARY}", CANARY, "--password ", id="flag-space"),
    pytest.param(f"--password={CANARY}", CANARY, "--password=", id="flag-equals"),
    pytest.param(f"calico-node -db-token {CANARY} -v 3", CANARY, " -v 3", id="go-flag"),
    pytest.param(f"password={CANARY}", CANARY, "password=", id="password"),
    pytest.param(f"BGP_PASSWORD: {CANARY}", CANARY, "BGP_PASSWORD: ", id="env-password"),
    pytest.param(f"DB_PASS={CANARY}", CANARY, "DB_PASS=", id="underscore-pass"),
    pytest.param(f"dbPass={CANARY}", CANARY, "dbPass=", id="camel-pass"),
    pytest.param(f"pwd={CANARY}", CANARY, "pwd=", id="pwd"),
    pytest.param(
        f'{{"apikey": "{CANARY}", "region": "us-south"}}', CANARY, '"region": "us-south"', id="apikey"
    ),
    pytest.param(f"client_secret={CANARY}&grant_type=x", CANARY, "&grant_type=x", id="client-secret"),
    pytest.param(f"routing_key: {CANARY}", CANARY, "routing_key: ", id="routing-key"),
    pytest.param(f"IBMCLOUD_API_KEY={CANARY}", CANARY, "IBMCLOUD_API_KEY=", id="api-key"),
    pytest.param(f"token={CANARY}", CANARY, "token=", id="token"),
    pytest.param(f"failed to get token: {CANARY}", CANARY, "failed to get token: ", id="token-random-value"),
    pytest.param(
        f'{{"auths":{{"us.icr.io":{{"auth":"{CANARY}"}}}}}}', CANARY, '"auth":"', id="dockerconfig-auth"
    ),
    pytest.param(
        'password: "correct horse battery staple"',
        "correct horse battery staple",
        "password: ",
        id="quoted-words",
    ),
    pytest.param(
        '{\\"password\\":\\"correct horse battery\\",\\"user\\":\\"admin\\"}',
        "correct horse battery",
        '\\"user\\":\\"admin\\"',
        id="escaped-json",
    ),
    pytest.param("Password:[hunter2x]", "hunter2x", "Password:[", id="go-map-value"),
    pytest.param(f"aws_access_key_id = {AWS_KEY_ID}", AWS_KEY_ID, "aws_access_key_id = ", id="aws-key-id"),
    pytest.param(f"using {AWS_TEMP_KEY_ID} for s3", AWS_TEMP_KEY_ID, " for s3", id="aws-temp-key-id"),
    pytest.param(
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY",
        "aws_secret_access_key = ",
        id="aws-secret",
    ),
    *(
        pytest.param(f"git clone with {token} failed", token, " failed", id=f"github-{token[:3]}")
        for token in GITHUB_TOKENS
    ),
    pytest.param(f"GITHUB_TOKEN used: {GITHUB_PAT}", GITHUB_PAT, "GITHUB_TOKEN used: ", id="github-pat"),
    pytest.param(
        f"https://admin:{CANARY}@registry.example.com/v2/",
        CANARY,
        "@registry.example.com/v2/",
        id="url-userinfo",
    ),
    pytest.param(f"redis://:{CANARY}@127.0.0.1:6379/0", CANARY, "@127.0.0.1:6379/0", id="url-password-only"),
    pytest.param(f"{PEM_BEGIN}\nMIIE{CANARY}\n{PEM_END}", CANARY, PRIVATE_KEY_MARK, id="pem"),
    pytest.param(f"  tls.key: LS0tLS1CRUdJTi{CANARY}", CANARY, "  tls.key: ", id="secret-yaml-tls-key"),
    pytest.param(
        f"    client-key-data: LS0tLS1CRUdJTi{CANARY}", CANARY, "client-key-data: ", id="kubeconfig-key-data"
    ),
    pytest.param(SLACK_BOT_PREFIX + "1234567890-" + CANARY, CANARY, "[REDACTED SLACK TOKEN]", id="slack"),
    pytest.param(
        "jwt eyJhbGciOiJSUzI1NiIsImtpZCI6Ij.eyJpc3MiOiJrdWJlcm5ldGVzL3Nlcn.c2lnbmF0dXJl" + CANARY,
        CANARY,
        "jwt [REDACTED JWT]",
        id="jwt",
    ),
    pytest.param(f"Bearer {CANARY} sent", CANARY, "Bearer ", id="bearer-anywhere"),
]


@pytest.mark.parametrize(("line", "secret", "kept"), REDACTED_SHAPES)
def test_credentials_are_redacted(line: str, secret: str, kept: str) -> None:
    out = redact(line)
    assert secret not in out
    assert "REDACTED" in out
    assert kept in out


@pytest.mark.parametrize(("line", "secret", "kept"), REDACTED_SHAPES)
def test_redacting_twice_changes_nothing_more(line: str, secret: str, kept: str) -> None:
    once = redact(line)
    assert redact(once) == once


EVIDENCE = [
    "Unable to create token for CNI kubeconfig error=Unauthorized",
    "2024-02-12 14:42:49.280 [WARNING][71] cni-installer/install.go 453: Unable to create token for CNI kubeconfig error=Unauthorized",
    "error getting ClusterInformation: connection is unauthorized: Unauthorized",
    "Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password",
    "[WARNING][71] confd/client.go 1041: Can't read password referenced by BGP Configuration default in secret calico-bgp-password:password error=no data available for secret calico-bgp-password",
    "Can't read password referenced by BGP Configuration default in secret calico-bgp-password:bgpKey",
    'secrets "calico-bgp-password" is forbidden: User "system:serviceaccount:calico-system:calico-node" cannot list resource "secrets" in API group "" in the namespace "calico-system"',
    "Controller for secret 'calico-bgp-password' did not sync within 500ms",
    "Starting secret watcher for BGP passwords",
    "failed to get token: Unauthorized",
    "failed to get token: Forbidden",
    "failed to get token: expired",
    "failed to get token: invalid",
    "failed to get token: not found",
    "failed to get token: EOF",
    'error="token: Unauthorized"',
    "TokenExpirationSeconds:  3607",
    "    TokenExpirationSeconds:  3607",
    "secretKeyRef: calico-bgp-password",
    "secretName: foo",
    "token-path=/var/run/secrets/kubernetes.io/serviceaccount/token",
    "--token-path /var/run/secrets/kubernetes.io/serviceaccount/token",
    "      Password:  <set to the key 'password' in secret 'x'>  Optional: false",
    "nodeMeshPassword:",
    "  nodeMeshPassword:  map[secretKeyRef:map[key:password name:calico-bgp-password]]",
    '{"nodeMeshPassword":{"secretKeyRef":{"name":"calico-bgp-password","key":"password"}}}',
    'MountVolume.SetUp failed for volume "calico-node-token-abcde" : secret "calico-node-token-abcde" not found',
    "  /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-x (ro)",
    "calico/node is not ready: BIRD is not ready: BGP not established with 10.94.227.28,10.94.227.48",
    "Failed to connect to typha endpoint 10.0.0.2:5473.  Will try another if available...",
    "kubelet --authorization-mode=Webhook --authentication-token-webhook=true --client-ca-file=/etc/kubernetes/ca.crt",
    'felix/int_dataplane.go 1954: labels:<key:"beta.kubernetes.io/arch" value:"amd64" >',
    "invalid bearer token",
    'WWW-Authenticate: Bearer realm="kubernetes"',
    "bypass=true passed=3 oauth=enabled",
    "PWD=/root OLDPWD=/home/calico",
    "password:  8 bytes",
    "password: [REDACTED]",
    "Authorization: [REDACTED]",
    "  Type:                    Projected (a volume that contains injected data from multiple sources)",
]


@pytest.mark.parametrize("line", EVIDENCE)
def test_lines_that_mention_secrets_stay_whole(line: str) -> None:
    assert redact(line) == line


def test_a_describe_pod_block_stays_whole() -> None:
    block = """\
    Environment:
      DATASTORE_TYPE:                     kubernetes
      CALICO_NETWORKING_BACKEND:          bird
      BGP_PASSWORD:                       <set to the key 'password' in secret 'calico-bgp-password'>  Optional: false
      FELIX_TYPHAK8SSERVICENAME:          <set to the key 'typha_service_name' of config map 'calico-config'>  Optional: false
      FELIX_TYPHACAFILE:                  /etc/pki/tls/certs/tigera-ca-bundle.crt
      FELIX_TYPHAKEYFILE:                 /node-certs/tls.key
Volumes:
  kube-api-access-9x7kq:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    ConfigMapOptional:       <nil>
    DownwardAPI:             true
"""
    assert redact(block) == block


def test_a_terminated_private_key_goes_whole_and_the_lines_around_stay() -> None:
    text = f"before\n{PEM_BEGIN}\n{BASE64_LINE}\n{BASE64_LINE[::-1]}\n{PEM_END}\nafter: calico-node ready\n"
    assert redact(text) == f"before\n{PRIVATE_KEY_MARK}\nafter: calico-node ready\n"


def test_a_pgp_private_key_block_goes_whole() -> None:
    text = f"{PGP_BEGIN}\nVersion: GnuPG v2\n\nlQdGBF{BASE64_LINE}\n=Zk3a\n{PGP_END}\nnext line"
    assert redact(text) == f"{PRIVATE_KEY_MARK}\nnext line"


def test_an_unterminated_pgp_block_takes_its_armor_and_body() -> None:
    text = f"{PGP_BEGIN}\nVersion: GnuPG v2\n\nlQdGBF{BASE64_LINE}\n{BASE64_LINE}\n2024-02-12 felix started\n"
    assert redact(text) == f"{PRIVATE_KEY_MARK}\n2024-02-12 felix started\n"


def test_an_unterminated_private_key_stops_at_the_first_log_line() -> None:
    text = (
        f"2024-02-12 14:42:49 key follows\n{PEM_BEGIN}\n{BASE64_LINE}\n{BASE64_LINE}\n"
        "2024-02-12 14:42:50 [INFO][68] felix/health.go 336: Overall health status changed: live=true ready=true\n"
        "bird: Mesh_10_94_227_28: State changed to start\n"
    )
    assert redact(text) == (
        f"2024-02-12 14:42:49 key follows\n{PRIVATE_KEY_MARK}\n"
        "2024-02-12 14:42:50 [INFO][68] felix/health.go 336: Overall health status changed: live=true ready=true\n"
        "bird: Mesh_10_94_227_28: State changed to start\n"
    )


def test_a_private_key_in_a_json_string_goes() -> None:
    text = '{"key": "' + PEM_BEGIN + "\\n" + BASE64_LINE + "\\n" + PEM_END + '\\n", "name": "x"}'
    out = redact(text)
    assert BASE64_LINE not in out
    assert out.endswith('", "name": "x"}')


@pytest.mark.parametrize(
    "line",
    [
        # client-go's reflector: a Go type and the resource word, then the quoted secret *name*
        'W0610 00:16:46.957663 69 reflector.go:324] failed to list *v1.Secret: secrets "bgp-password" is forbidden: '
        'User "system:serviceaccount:calico-system:calico-node" cannot list resource "secrets"',
        # install-cni: a URL whose last segment is `token`, then Go's error
        'Unable to create token for CNI kubeconfig error=Post "https://10.2.0.1:443/api/v1/namespaces/kube-system/'
        'serviceaccounts/canal/token": dial tcp 10.2.0.1:443: i/o timeout',
    ],
)
def test_evidence_after_a_type_or_a_path_is_kept_whole(line: str) -> None:
    assert redact(line) == line
