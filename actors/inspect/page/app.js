// The inspector page: plain modules, no build. The server owns the model (actors/inspect/model.ts);
// this page asks for what it shows and refreshes on each change the event stream announces.
const $ = (selector) => document.querySelector(selector);
const state = { machines: [], selected: undefined, peer: undefined, sequence: [] };

async function json(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

const keyOf = (actor) => `${actor.participant}/${actor.id}`;
const valueText = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const keysText = (keys) => Object.entries(keys).map(([field, value]) => `${field} ${value}`).join(' · ');

async function refreshActors() {
  const params = new URLSearchParams();
  if ($('#participant').value) params.set('participant', $('#participant').value);
  if ($('#filter').value) params.set('q', $('#filter').value);
  const actors = await json(`/api/actors?${params}`);
  const list = $('#actors');
  list.replaceChildren(...actors.map((actor) => {
    const item = document.createElement('li');
    item.dataset.key = keyOf(actor);
    item.dataset.state = valueText(actor.value);
    item.dataset.status = actor.status;
    if (state.selected === item.dataset.key) item.classList.add('selected');
    item.append(text('div', `${actor.participant} · ${actor.id}`), text('div', `${valueText(actor.value)} (${actor.status})`, 'state'), text('div', keysText(actor.keys), 'keys'));
    item.addEventListener('click', () => select(item.dataset.key));
    return item;
  }));
}

// Each diagram pane remembers which machine it shows, so a refresh only relights it.
async function showDiagram(machine, pane = $('#diagram')) {
  if (pane.dataset.machine === machine) return;
  const response = await fetch(`/api/diagram/${encodeURIComponent(machine)}.svg`);
  pane.innerHTML = response.ok ? await response.text() : `<p>no diagram for ${machine}</p>`;
  pane.dataset.machine = machine;
}

function light(activeStates, pane = $('#diagram')) {
  for (const lit of pane.querySelectorAll('g.lit')) lit.classList.remove('lit');
  for (const id of activeStates) for (const kind of ['state', 'cluster']) pane.querySelector(`#${CSS.escape(`${kind}:${id}`)}`)?.classList.add('lit');
}

// A charging session has two sides: the SECC's and the EV's session actors share the SessionID.
const SESSION_PEER = { secc: 'ev', ev: 'secc' };
async function refreshPeer(actor) {
  const side = SESSION_PEER[actor.participant];
  const sessionId = actor.keys.sessionId;
  let peer;
  if (side && sessionId) {
    const candidates = await json(`/api/actors?${new URLSearchParams({ participant: side, q: sessionId })}`);
    const match = candidates.find((candidate) => candidate.keys.sessionId === sessionId);
    if (match) peer = await json(`/api/actor/${encodeURIComponent(match.participant)}/${encodeURIComponent(match.id)}`);
  }
  state.peer = peer && keyOf(peer);
  $('#peer').hidden = !peer;
  if (!peer) return;
  $('#peer-title').textContent = `${peer.participant} · ${peer.id} — ${peer.machine}: ${valueText(peer.value)}`;
  $('#peer').dataset.key = state.peer;
  await showDiagram(peer.machine, $('#peer-diagram'));
  light(peer.activeStates, $('#peer-diagram'));
}

async function refreshSelected() {
  if (!state.selected) return;
  const [participant, ...rest] = state.selected.split('/');
  const actor = await json(`/api/actor/${encodeURIComponent(participant)}/${encodeURIComponent(rest.join('/'))}`);
  $('#machine-title').textContent = `${actor.participant} · ${actor.id} — ${actor.machine}: ${valueText(actor.value)}`;
  await showDiagram(actor.machine);
  light(actor.activeStates);
  $('#timeline tbody').replaceChildren(...actor.timeline.map((item) => {
    const row = document.createElement('tr');
    row.className = item.kind;
    const duration = item.kind === 'effect' ? (item.outcome === 'running' ? 'running' : `${item.durationMs} ms ${item.outcome}`) : '';
    row.append(text('td', item.at.slice(11, 23)), text('td', item.kind), text('td', item.label), text('td', duration));
    return row;
  }));
  await refreshPeer(actor);
  // A session's sequence is the V2G messages of its SessionID.
  state.keys = SESSION_PEER[actor.participant] && actor.keys.sessionId ? { sessionId: actor.keys.sessionId } : actor.keys;
  await refreshSequence();
}

async function refreshSequence() {
  if (!state.keys || Object.keys(state.keys).length === 0) return;
  state.sequence = await json(`/api/sequence?${new URLSearchParams(state.keys)}`);
  $('#sequence-title').textContent = `Message sequence — ${keysText(state.keys)}`;
  drawSequence(state.sequence);
}

const SVG = 'http://www.w3.org/2000/svg';
function svgElement(tag, attributes, content) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (content !== undefined) element.textContent = content;
  return element;
}

function drawSequence(items) {
  const lanes = [];
  for (const item of items) for (const who of [item.participant, item.to]) if (who !== '*' && !lanes.includes(who)) lanes.push(who);
  // Lanes share the pane's width (60–90 px each), so a whole sequence fits without scrolling where it can.
  const spacing = Math.max(60, Math.min(90, (($('#sequence').clientWidth || 600) - 70) / Math.max(1, lanes.length)));
  const laneX = (who) => 45 + spacing * lanes.indexOf(who);
  const width = Math.max(300, spacing * lanes.length + 60);
  const height = 50 + 26 * items.length;
  const svg = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svgElement('defs', {});
  const marker = svgElement('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(svgElement('path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
  defs.append(marker);
  svg.append(defs);
  lanes.forEach((who) => {
    svg.append(svgElement('text', { x: laneX(who), y: 14, 'text-anchor': 'middle', class: 'lane' }, who));
    svg.append(svgElement('line', { x1: laneX(who), y1: 20, x2: laneX(who), y2: height, class: 'lifeline' }));
  });
  items.forEach((item, index) => {
    const y = 40 + 26 * index;
    const from = laneX(item.participant);
    const to = item.to === '*' ? width - 8 : laneX(item.to);
    const group = svgElement('g', { class: `message${item.outcome && item.outcome !== 'ok' ? ' failed' : ''}${item.exi ? ' has-exi' : ''}`, 'data-index': index, 'data-subject': item.subject });
    group.append(svgElement('line', { x1: from, y1: y, x2: to === from ? from + 30 : to, y2: y }));
    const label = `${item.subject}${item.durationMs !== undefined ? ` ${item.durationMs} ms` : ''}${item.exi ? ' EXI' : ''}`;
    group.append(svgElement('text', { x: Math.min(from, to) + 4, y: y - 4 }, label));
    if (item.exi) group.addEventListener('click', () => decodeExi(item));
    svg.append(group);
  });
  $('#sequence').replaceChildren(svg);
}

async function decodeExi(item) {
  const parts = [];
  for (const [field, hex] of Object.entries(item.exi)) {
    const response = await fetch(`/api/exi?hex=${hex}`);
    const body = await response.json();
    parts.push(`${field} (${hex.length / 2} B)${response.ok ? ` — ${body.schema}` : ''}\n${JSON.stringify(response.ok ? body.document : body, null, 2)}`);
  }
  $('#exi').textContent = parts.join('\n\n');
}

async function select(key) {
  state.selected = key;
  history.replaceState(null, '', `#actor=${encodeURIComponent(key)}`);
  for (const item of document.querySelectorAll('#actors li')) item.classList.toggle('selected', item.dataset.key === key);
  await refreshSelected();
}

// Refreshes are coalesced: a burst of events costs one round of requests.
function coalesce(task) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; task().catch((error) => console.error(error)); }, 100);
  };
}
const refreshActorsSoon = coalesce(refreshActors);
const refreshSelectedSoon = coalesce(refreshSelected);
const refreshSequenceSoon = coalesce(refreshSequence);

async function main() {
  state.machines = await json('/api/machines');
  const participants = [...new Set(state.machines.map((entry) => entry.participant))];
  $('#participant').append(...participants.map((name) => Object.assign(document.createElement('option'), { value: name, textContent: name })));
  $('#participant').addEventListener('change', refreshActorsSoon);
  $('#filter').addEventListener('input', refreshActorsSoon);
  await refreshActors();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('actor');
  if (fromHash) await select(fromHash);
  follow();
}

function applyChange(change) {
  refreshActorsSoon();
  const changed = `${change.participant}/${change.id}`;
  if (change.kind === 'actor' && (state.selected === changed || state.peer === changed)) refreshSelectedSoon();
  if (change.kind === 'trace') refreshSequenceSoon();
}

// The change feed: one long poll at a time; the server answers at once when something changed since.
async function follow() {
  let since = 0;
  for (;;) {
    try {
      const feed = await json(`/api/changes?since=${since}`);
      $('#connection').textContent = 'live';
      $('#connection').className = 'online';
      if (feed.reset) { refreshActorsSoon(); refreshSelectedSoon(); }
      for (const change of feed.changes) applyChange(change);
      since = feed.version;
    } catch {
      $('#connection').textContent = 'reconnecting…';
      $('#connection').className = 'offline';
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

main().catch((error) => { $('#connection').textContent = `error: ${error.message}`; });
