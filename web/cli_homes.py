"""The `jointdispatch register` and `jointdispatch gateways` commands of the home-alarm
programme: import the register file into the log; give a home gateway its MQTT password."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from web.settings import Settings

register_app = typer.Typer(help="The home-alarm register: residents, devices, community responders.",
                           no_args_is_help=True)
gateways_app = typer.Typer(help="Home gateways' MQTT users on the private broker.", no_args_is_help=True)
console = Console()


@register_app.command("import")
def register_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The register file (YAML).")],
) -> None:
    """Put the file's residents, devices and responders in the log; only what changed is added."""
    from coordination.register_file import RegisterFileError, load_register
    from dispatch.clock import SystemClock
    from dispatch.plans import ResponsePlans
    from dispatch.rejection import Rejected
    from dispatch.service import DispatchService
    from web.bootstrap import rules_from
    from web.cli import _redis_url
    from web.redis_client import connect, log_store

    settings = Settings()
    try:
        command = load_register(path).command(str(path))
    except RegisterFileError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None

    async def go(url: str) -> int:
        client = connect(url)
        try:
            rules = rules_from(settings, ResponsePlans.load(settings.plans_file))
            service = DispatchService(log_store(client, url, settings.namespace), rules, SystemClock())
            await service.start(follow=False)
            return len(await service.execute(command))
        finally:
            await client.aclose()

    with _redis_url(settings) as url:
        try:
            added = asyncio.run(go(url))
        except Rejected as e:
            console.print(f"[red]{path}: {e.field}: {e.message}[/red]")
            raise typer.Exit(2) from None
    console.print(f"{len(command.residents)} residents, {len(command.devices)} devices, "
                  f"{len(command.responders)} responders read; {added} new or changed entries in the log")


@gateways_app.command("add")
def gateways_add(gateway_id: Annotated[str, typer.Argument(help="The gateway id in the register.")]) -> None:
    """A new MQTT password for a gateway (printed once, kept only hashed); a running private
    broker reads it at once."""
    from web.mqtt_broker import GatewayPasswords, reload_running

    settings = Settings()
    folder = settings.data_dir / "mosquitto"
    try:
        password = GatewayPasswords(folder).add_gateway(gateway_id)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    told = reload_running(folder)
    console.print(f"gateway {gateway_id} may publish under homes/{gateway_id}/#"
                  + ("" if told else " (the broker reads it when it next starts)") + ". Its password:")
    print(password)
