"""OAI-PMH 2.0 harvesting: transport (via sickle), page parsing (once, safely) and list paging."""
from harvest.oai.client import OAIClient, Transfer
from harvest.oai.page import OAI_NS, Page, parse_page
from harvest.oai.paging import list_pages

__all__ = ["OAI_NS", "OAIClient", "Page", "Transfer", "list_pages", "parse_page"]
