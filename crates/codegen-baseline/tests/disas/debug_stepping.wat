;;! debug = stepping
;; Debug code: parameters and locals go to their slots, a debug-break check on entry and
;; before every instruction, every value back in its slot after each instruction.
(module
  (func (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000112h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     [rbp-28h],esi
;;     27: mov     dword ptr [rbp-30h],0
;;     2e: mov     edx,18h
;;     33: call    0000000000000114h
;;     38: mov     edx,1Bh
;;     3d: call    0000000000000114h
;;     42: mov     edx,1Dh
;;     47: call    0000000000000114h
;;     4c: mov     eax,[rbp-30h]
;;     4f: mov     [rbp-38h],eax
;;     52: mov     edx,1Fh
;;     57: call    0000000000000114h
;;     5c: mov     eax,[rbp-28h]
;;     5f: mov     [rbp-40h],eax
;;     62: mov     edx,21h
;;     67: call    0000000000000114h
;;     6c: mov     eax,[rbp-40h]
;;     6f: mov     ecx,[rbp-38h]
;;     72: add     ecx,eax
;;     74: mov     [rbp-38h],ecx
;;     77: mov     edx,22h
;;     7c: call    0000000000000114h
;;     81: movsd   xmm15,[rbp-38h]
;;     87: movsd   [rbp-30h],xmm15
;;     8d: mov     edx,24h
;;     92: call    0000000000000114h
;;     97: mov     eax,[rbp-28h]
;;     9a: mov     [rbp-38h],eax
;;     9d: mov     edx,26h
;;     a2: call    0000000000000114h
;;     a7: mov     edx,28h
;;     ac: call    0000000000000114h
;;     b1: mov     eax,[rbp-38h]
;;     b4: sub     eax,1
;;     b7: mov     [rbp-38h],eax
;;     ba: mov     edx,29h
;;     bf: call    0000000000000114h
;;     c4: mov     eax,[rbp-38h]
;;     c7: mov     [rbp-28h],eax
;;     ca: mov     [rbp-38h],eax
;;     cd: mov     edx,2Bh
;;     d2: call    0000000000000114h
;;     d7: mov     eax,[rbp-38h]
;;     da: test    eax,eax
;;     dc: jne     0000000000000042h
;;     e2: mov     edx,2Dh
;;     e7: call    0000000000000114h
;;     ec: mov     edx,2Eh
;;     f1: call    0000000000000114h
;;     f6: mov     eax,[rbp-30h]
;;     f9: mov     [rbp-38h],eax
;;     fc: mov     edx,30h
;;    101: call    0000000000000114h
;;    106: mov     eax,[rbp-38h]
;;    109: mov     rbx,[rbp-8]
;;    10d: mov     rsp,rbp
;;    110: pop     rbp
;;    111: ret
;;    112: ud2  ; trap: StackOverflow
;;    114: mov     rdi,rbx
;;    117: mov     esi,0
;;    11c: mov     r11,[rbx+10h]
;;    120: jmp     qword ptr [r11+78h]
