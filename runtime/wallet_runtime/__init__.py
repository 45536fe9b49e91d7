"""The local runtime and the `wallet` command: the aiohttp edge, the supervisor, the broker
launcher and the /docs page. It lives outside layers/wallet so that the Lambda layer ships only
what a Lambda imports. It may import `wallet`, never the other way round
(tests/unit/test_layer_boundary.py holds the layer and the functions to that).
"""
