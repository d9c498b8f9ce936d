"""The environment variables the CLI names, in one spot (kit.auth will own the credential ones:
once it does, this module becomes one import from there)."""

ENV_TOKEN, ENV_USERNAME, ENV_PASSWORD = "NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "NGFF_KIT_PASSWORD"
# The origins the three above may be sent to (the credential policy of issue 18).
ENV_ORIGINS = "NGFF_KIT_ORIGINS"
# The demo's password when set (tests and notebooks pin it to check it is never printed or saved).
ENV_DEMO_PASSWORD = "NGFF_KIT_DEMO_PASSWORD"
