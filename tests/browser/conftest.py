def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser check (JupyterLab + headless Chromium); "
                                       "run as its own CI step: pytest -m browser tests/browser")
