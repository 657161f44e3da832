/** Help texts. Kept apart from parsing so the wording can change without touching logic. */

export const COMMAND_NAMES = ['who', 'login', 'logout', 'devices'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

const GLOBAL_FLAGS = `Global flags:
      --kubeconfig=PATH     kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config)
      --context=NAME        kubeconfig context to use (default: the current context)
  -n, --namespace=NS        namespace (default: the context's namespace, else "default")
  -h, --help                show help`;

export const ROOT_USAGE = `Hot desking on Kubernetes: who sits at which desk phone, and admin login/logout.

Usage:
  kubectl hotdesk <command> [flags]

Commands:
  who        Show every desk and who is logged in at it
  devices    Show desk phones with MAC, model, phase, occupant and provisioning state
  login      Log an extension in at a desk (as an administrator)
  logout     End the session at a desk, by device name, MAC or extension

${GLOBAL_FLAGS}

Use "kubectl hotdesk <command> --help" for more about a command.
`;

export const COMMAND_USAGE: Record<CommandName, string> = {
  who: `Show every desk (HotDeskDevice) and who is logged in at it: extension, name, since when, pool.

Usage:
  kubectl hotdesk who [-n NS | -A] [-o json|yaml]

Flags:
  -A, --all-namespaces      list desks in every namespace
  -o, --output=FORMAT       json or yaml instead of a table

${GLOBAL_FLAGS}
`,
  devices: `Show desk phones (HotDeskDevice): MAC, vendor, model, phase, occupant, config revision, last re-sync.

Usage:
  kubectl hotdesk devices [-n NS | -A] [-o json|yaml]

Flags:
  -A, --all-namespaces      list devices in every namespace
  -o, --output=FORMAT       json or yaml (the HotDeskDevice objects) instead of a table

${GLOBAL_FLAGS}
`,
  login: `Log an extension in at a desk as an administrator: creates a HotDeskSession with origin "admin",
which the controller applies like a feature-code login (including the pool's roaming policy).

Usage:
  kubectl hotdesk login DEVICE EXTENSION [--wait=30s] [-o json|yaml]

Examples:
  kubectl hotdesk login desk-3f-12 101
  kubectl hotdesk login desk-3f-12 101 --wait=0     # create the session and return at once

Flags:
      --wait=DURATION       how long to wait for the session to become Active or Refused
                            (e.g. 30s, 2m; 0 = do not wait). Default 30s.
  -o, --output=FORMAT       print the session as json or yaml

${GLOBAL_FLAGS}
`,
  logout: `End the active session at a desk (a force logout): deletes the session, and the controller puts
the phone back to its idle configuration.

Usage:
  kubectl hotdesk logout DEVICE|MAC|EXTENSION

The target is looked up as a device name first, then as a device MAC (any notation:
00:15:65:aa:bb:cc, 00-15-65-AA-BB-CC, 001565aabbcc), then as a user's extension.

Examples:
  kubectl hotdesk logout desk-3f-12
  kubectl hotdesk logout 00:15:65:aa:bb:cc
  kubectl hotdesk logout 101

${GLOBAL_FLAGS}
`,
};
