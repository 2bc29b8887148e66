"""The parameters SetupIntents and PaymentIntents share: a new PaymentMethod's data, the mandate's
acceptance, each intent's `payment_method_options` and `off_session`."""

from __future__ import annotations

from ..core.params import Arr, Bool, Either, Enum, Hash, Int, Metadata, Str
from ..resources.payment_methods import BILLING, US_BANK_ACCOUNT
from .p24 import P24_DATA


def _mandate_data(online_required: tuple[str, ...]) -> Hash:
    return Hash(
        {
            "customer_acceptance": Hash(
                {
                    "type": Enum(("offline", "online")),
                    "accepted_at": Int(),
                    "offline": Hash({}, emptyable=True),
                    "online": Hash(
                        {"ip_address": Str(), "user_agent": Str()}, required=online_required
                    ),
                },
                required=("type",),
            )
        },
        required=("customer_acceptance",),
        emptyable=True,
    )


MANDATE_DATA = _mandate_data(("ip_address", "user_agent"))
# Confirm also takes the client-side shape (Stripe.js confirms with the publishable key, and
# Stripe fills in the browser's address and agent), where both are optional.
MANDATE_DATA_CONFIRM = _mandate_data(())
PM_DATA = Hash(
    {
        "type": Enum(("us_bank_account",)),
        "us_bank_account": US_BANK_ACCOUNT,
        "billing_details": BILLING,
        "metadata": Metadata(),
    },
    required=("type",),
)
# A PaymentIntent also takes a P24 PaymentMethod; P24 is single use (Stripe's docs), so the
# fake's SetupIntents keep to us_bank_account.
PAYMENT_PM_DATA = Hash(
    {**PM_DATA.fields, "type": Enum(("p24", "us_bank_account")), "p24": P24_DATA},
    required=("type",),
)
_PERMISSIONS = Arr(Enum(("balances", "ownership", "payment_method", "transactions")))
_NETWORKS = Hash({"requested": Arr(Enum(("ach", "us_domestic_wire")))})
_VERIFICATION = Enum(("automatic", "instant", "microdeposits"))
SETUP_OPTIONS = Hash(
    {
        "us_bank_account": Hash(
            {
                "financial_connections": Hash(
                    {
                        "permissions": _PERMISSIONS,
                        "prefetch": Arr(Enum(("balances", "ownership", "transactions"))),
                        "return_url": Str(),
                        "filters": Hash(
                            {"account_subcategories": Arr(Enum(("checking", "savings")))}
                        ),
                    }
                ),
                "verification_method": _VERIFICATION,
                "mandate_options": Hash({"collection_method": Enum(("paper",), emptyable=True)}),
                "networks": _NETWORKS,
            }
        )
    }
)
PAYMENT_OPTIONS = Hash(
    {
        "us_bank_account": Hash(
            {
                "financial_connections": Hash(
                    {
                        "permissions": _PERMISSIONS,
                        "prefetch": Arr(Enum(("balances",))),
                        "return_url": Str(),
                    }
                ),
                "networks": _NETWORKS,
                "preferred_settlement_speed": Enum(("fastest", "standard"), emptyable=True),
                "setup_future_usage": Enum(("none", "off_session", "on_session"), emptyable=True),
                "verification_method": _VERIFICATION,
            },
            emptyable=True,
        )
    }
)
OFF_SESSION = Either((Bool(), Enum(("one_off", "recurring"))))
