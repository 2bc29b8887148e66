"""The package's public names are deliberate: this pins them."""

import fake_stripe


def test_all_lists_exactly_the_public_api() -> None:
    assert fake_stripe.__all__ == [
        "APIError",
        "AuthenticationError",
        "IdempotencyError",
        "InvalidRequestError",
        "StripeError",
        "create_app",
    ]
    for name in fake_stripe.__all__:
        assert hasattr(fake_stripe, name)
