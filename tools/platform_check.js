#!/usr/bin/env node
// Microsoft's own checkers, for the test suite (tests/platform_checks.py starts this once).
//
// Reads one JSON request per line on stdin and answers one JSON line per request on stdout:
//   {"cards": [card, ...]}        -> {"problems": [[message, ...], ...]}  (one list per card)
//   {"manifest": "manifest.json"} -> {"problems": [message, ...]}
//
// Cards are parsed by the official Adaptive Cards library (the package's dist/ bundle: its
// lib/ entry point fails under Node 20 with ERR_MODULE_NOT_FOUND .../lib/strings) for the
// version Teams supports, 1.5. The manifest is checked by @microsoft/app-manifest against the
// schema bundled with the package for the manifest's own version, never one fetched online.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");
const AC = require("adaptivecards/dist/adaptivecards.js");
const { AppManifestUtils } = require("@microsoft/app-manifest");

const TEAMS_VERSION = AC.Versions.v1_5;

function cardProblems(json) {
  const problems = [];
  const declared = AC.Version.parse(json && json.version, new AC.SerializationContext());
  if (!declared || !declared.isValid) {
    problems.push(`card version ${JSON.stringify(json && json.version) || "(missing)"} is not a version`);
  } else if (declared.compareTo(TEAMS_VERSION) > 0) {
    problems.push(`card version ${declared} is newer than Teams supports (${TEAMS_VERSION})`);
  }
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(TEAMS_VERSION);
  card.parse(json, context);
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  for (const event of card.validateProperties().validationEvents) {
    problems.push(`${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  return problems;
}

async function manifestProblems(file) {
  // The typed reader checks value types; the bundled schema checks everything else. Both
  // run on the same file so a manifest that fails the first still gets the schema's word.
  const problems = [];
  try {
    await AppManifestUtils.readTeamsManifest(file);
  } catch (error) {
    problems.push(`cannot be read as a Teams manifest: ${String(error.message).slice(0, 300)}`);
  }
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  const version = manifest.manifestVersion;
  const schemaFile = path.join(
    path.dirname(require.resolve("@microsoft/app-manifest/package.json")),
    "build", "json-schemas", "teams", `v${version}`, "MicrosoftTeams.schema.json",
  );
  if (!fs.existsSync(schemaFile)) {
    return [...problems, `manifestVersion ${version}: no schema bundled for it`];
  }
  const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
  return [...problems, ...(await AppManifestUtils.validateAgainstSchema(manifest, schema))];
}

async function answer(request) {
  if (Array.isArray(request.cards)) {
    return { problems: request.cards.map(cardProblems) };
  }
  if (typeof request.manifest === "string") {
    return { problems: await manifestProblems(request.manifest) };
  }
  throw new Error("unknown request: expected 'cards' or 'manifest'");
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      reply = await answer(JSON.parse(line));
    } catch (error) {
      reply = { error: String((error && error.stack) || error) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
