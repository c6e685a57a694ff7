"""Build the conversations' search index (PostgreSQL): once after upgrading to the version that
added it, for the conversations saved before; it is kept from then on. Safe to run again."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from voice.models import Conversation, ConversationTerm
from voice.search import search_index_rebuild


class Command(BaseCommand):
    help = "Build the search index of conversations that have none (PostgreSQL only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Rebuild every conversation's.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: only PostgreSQL keeps a search index.")
            return
        conversations = Conversation.objects.all()
        if not options["all"]:
            indexed = ConversationTerm.objects.values("conversation_id")
            conversations = conversations.exclude(pk__in=indexed)
        done = 0
        for conversation_id in conversations.values_list("pk", flat=True).iterator():
            with transaction.atomic():  # one at a time: a live server keeps writing beside it
                search_index_rebuild(conversation_id=conversation_id)
            done += 1
        self.stdout.write(f"Indexed {done} conversation(s).")
