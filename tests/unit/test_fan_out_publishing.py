"""A fan-out publishes from FAN_OUT threads: the IoT client keeps a connection for each, else every publish
beyond botocore's default 10 opens and discards one (a TLS handshake each, in CPU the fan-out waits on)."""


def test_the_publishing_client_pools_a_connection_for_each_thread_of_a_fan_out(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from connections.stations import delivery, iot

    iot._client.cache_clear()
    assert iot._client().meta.config.max_pool_connections >= delivery.FAN_OUT
    iot._client.cache_clear()
