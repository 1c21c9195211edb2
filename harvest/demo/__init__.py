"""The bundled demo partner network: OAI-PMH providers for six regional partners on 127.0.0.1."""

from harvest.demo.partners import PARTNERS, Partner
from harvest.demo.server import DemoNetwork

__all__ = ["PARTNERS", "DemoNetwork", "Partner"]
