"""pytest plugin (entry point `fake_stripe`): fixtures for testing against the fake in-process."""
