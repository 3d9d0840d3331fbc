"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu writes a message file under its final name and fills it afterwards, so a worker polling the
folder can read it empty and die on the JSON error (celery/kombu#1551). Here a message is written
under a name the consumer ignores and renamed into place: a rename is atomic on one filesystem.
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):  # noqa: ANN001, ANN003, ANN202
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        incoming = os.path.join(self.data_folder_out, f".incoming-{uuid.uuid4().hex}")
        try:
            with open(incoming, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(incoming, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
