#!/usr/bin/env python3
"""The peer of the case-lifecycle benchmark (issue 9, docs/performance.md): SpiffWorkflow 3.2, a
Python BPMN engine, runs start -> accept -> parallel(review A, review B) -> approve -> end in one
process, completes each user task at once and saves the workflow as JSON to a file after every
step (what a persisted engine must do at the least). Prints whole lifecycles per second.

    python3 -m venv /tmp/spiff && /tmp/spiff/bin/pip install SpiffWorkflow==3.2.0
    /tmp/spiff/bin/python scripts/peer_spiffworkflow.py --seconds 10
"""
import argparse
import os
import tempfile
import time

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="case" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="accept" name="受理"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="review_a" name="审查 A"/>
    <bpmn:userTask id="review_b" name="审查 B"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:userTask id="approve" name="决定"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="review_a"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="review_b"/>
    <bpmn:sequenceFlow id="f5" sourceRef="review_a" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="review_b" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="approve"/>
    <bpmn:sequenceFlow id="f8" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fsync", action="store_true", help="fsync each save (durable, like synchronous=FULL)")
    args = ap.parse_args()
    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(BPMN.encode()), filename="case.bpmn")
    spec = parser.get_spec("case")
    serializer = BpmnWorkflowSerializer()
    out = os.path.join(tempfile.mkdtemp(), "case.json")

    def save(wf):
        with open(out, "w") as f:
            f.write(serializer.serialize_json(wf))
            if args.fsync:
                f.flush()
                os.fsync(f.fileno())

    done = steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        save(wf)
        while not wf.is_completed():
            ready = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]
            if not ready:
                raise SystemExit("stuck: no ready user task")
            ready[0].run()
            wf.do_engine_steps()
            save(wf)
            steps += 1
        done += 1
    took = time.perf_counter() - start
    print(f"SpiffWorkflow 3.2: {done} lifecycles in {took:.1f} s = {done / took:.0f}/s "
          f"({steps / done:.0f} user tasks each, JSON saved after every step"
          f"{', fsync' if args.fsync else ''})")


if __name__ == "__main__":
    main()
